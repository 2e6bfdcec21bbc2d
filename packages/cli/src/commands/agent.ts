import { rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { writeFileAtomically } from '../credential-endpoints/atomic-file.js'
import {
  type CredentialEndpoints,
  rolesByVendor,
  startCredentialEndpoints,
} from '../credential-endpoints/credential-endpoints.js'
import { parseLoopbackListen } from '../credential-endpoints/listen-address.js'
import { checkDistinctPaths, parseFileSpec, SecretFiles } from '../credential-endpoints/secret-files.js'
import { VENDOR_NAMES, vendorOfRoleArn } from '../credential-endpoints/vendors.js'
import { CliError, UsageError } from '../errors.js'
import { formatReference } from '../run/references.js'
import { pamSecretSource } from '../run/resolve-references.js'
import { toJson } from '../safe-text.js'
import { parseCloudDuration, shellQuote } from '../workload/cloud-credentials-output.js'
import { configOption, type WorkloadOptions, workloadClient } from '../workload/workload-client.js'
import type { ContextFor } from './context-for.js'

const DEFAULT_LISTEN = '127.0.0.1:0'
const DEFAULT_POLL_S = 60
const MIN_POLL_S = 1

export interface AgentOptions extends WorkloadOptions {
  listen?: string
  cloudRole: string[]
  duration?: number
  file: string[]
  poll?: number
  reason?: string
  envOut?: string
  printEnv?: boolean
  verbose?: boolean
}

const HELP_AFTER = `
Cloud roles (--cloud-role, at most one per vendor) are served on loopback where the vendors' own
credential chains look, refreshed ahead of expiry through the workload's SDK cache:
  Alibaba Cloud  ALIBABA_CLOUD_CREDENTIALS_URI=http://127.0.0.1:PORT/alibaba-cloud/<capability>
                 ALIBABA_CLOUD_ECS_METADATA_DISABLED=true  ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true
  AWS            AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/aws/credentials
                 AWS_CONTAINER_AUTHORIZATION_TOKEN=<token>
The capability and the token are new at every start and are secrets: whoever reads them gets the
role's credentials. --env-out FILE writes them (mode 0600, atomically; removed when the agent
stops) for the consumer to load (set -a; . FILE; set +a, or docker --env-file); --print-env prints
them on stderr instead. A request without the capability is 401; while the server is unreachable
the held credentials are served until they expire, then 503.

Files (--file PATH=REF, REF as for strongroom run: strongroom://credential/ID[/FIELD],
strongroom://account/TARGET/ACCOUNT/password|ssh-key, strongroom://provider/ID/oauth-token) are
written with mode 0600 (beside PATH, then renamed), holding the value exactly, and rewritten when a
poll (--poll, one audited read per reference) finds it changed. At start, all or none: when one
cannot be read or written, no file is written.

Runs until SIGINT or SIGTERM.

Example:
  strongroom agent --cloud-role arn:aws:iam::123456789012:role/deployer --env-out /run/sr/cloud.env \\
    --file /run/sr/api-key=strongroom://credential/demo/api-key
`

/**
 * `strongroom agent`: a workload's sidecar. Serves cloud roles' STS credentials on loopback
 * endpoints the AWS and Alibaba Cloud SDKs read unmodified, and keeps `strongroom://` secrets
 * rendered into files; authenticated as a workload exactly like `strongroom get`.
 */
export function registerAgentCommand(program: Command, contextFor: ContextFor): void {
  program
    .command('agent')
    .description(
      "serve cloud roles' credentials on loopback endpoints the cloud SDKs read, and render secrets into files",
    )
    .option(
      '--cloud-role <arn>',
      "serve this role's STS credentials (repeatable, one role per vendor): acs:ram::<uid>:role/<name> or arn:aws:iam::<account>:role/<name>",
      collect,
      [],
    )
    .addOption(
      new Option(
        '--duration <seconds>',
        "the roles' STS session lifetime, 900-43200 (default: each role's)",
      ).argParser(parseCloudDuration),
    )
    .option(
      '--listen <host:port>',
      `where the credentials endpoint listens, loopback only (default: ${DEFAULT_LISTEN})`,
    )
    .option('--env-out <file>', "write the consumer's environment variables to FILE (mode 0600)")
    .option('--print-env', "print the consumer's environment variables, secrets included, on stderr")
    .option(
      '--file <path=ref>',
      'keep PATH holding the secret a strongroom:// reference names (repeatable)',
      collect,
      [],
    )
    .addOption(
      new Option(
        '--poll <seconds>',
        `with --file: seconds between re-reads, at least ${MIN_POLL_S} (default: ${DEFAULT_POLL_S})`,
      ).argParser(secondsAtLeast(MIN_POLL_S)),
    )
    .option(
      '--reason <text>',
      'why, for account references (recorded in the audit; some accounts require it)',
    )
    .option('--verbose', 'log one line per request to the endpoint (route and status, never a path or token)')
    .addOption(configOption())
    .addHelpText('after', HELP_AFTER)
    .action(async (options: AgentOptions, command: Command) => {
      const ctx = contextFor(command)
      const roles = options.cloudRole
      const files = options.file.map((text, i) => parseFileSpec(text, i, ctx.io.cwd))
      checkDistinctPaths(files)
      if (roles.length === 0 && files.length === 0)
        throw new UsageError('nothing to serve: give --cloud-role ARN and/or --file PATH=strongroom://…')
      for (const [flag, given] of [
        ['--listen', options.listen],
        ['--duration', options.duration],
        ['--env-out', options.envOut],
        ['--print-env', options.printEnv],
      ] as const) {
        if (given !== undefined && roles.length === 0)
          throw new UsageError(`${flag} applies only with --cloud-role`)
      }
      if (options.poll !== undefined && files.length === 0)
        throw new UsageError('--poll applies only with --file')
      if (roles.length > 0 && options.envOut === undefined && options.printEnv !== true)
        throw new UsageError(
          "--cloud-role needs --env-out FILE (or --print-env): the consumer's variables hold a capability made at start",
        )
      if (roles.length > 0) rolesByVendor(roles.map((arn) => ({ arn })))
      parseLoopbackListen(options.listen ?? DEFAULT_LISTEN)
      const envOut = options.envOut === undefined ? undefined : resolve(ctx.io.cwd, options.envOut)

      const secrets = new Set<string>()
      const remember = (value: string) => {
        if (value.length === 0) return
        secrets.add(value)
        ctx.rememberSecret(value)
      }
      /** One line on stderr; any secret known so far is redacted, control characters flattened. */
      const note = (line: string) => {
        let text = line
        for (const secret of secrets) if (secret.length >= 4) text = text.replaceAll(secret, '[redacted]')
        ctx.io.stderr.write(`strongroom: agent: ${text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')}\n`)
      }

      await using pam = await workloadClient(ctx, options)
      let endpoints: CredentialEndpoints | undefined
      let rendered: SecretFiles | undefined
      let envWritten = false
      try {
        if (roles.length > 0) {
          endpoints = await startCredentialEndpoints({
            pam,
            roles: roles.map((arn) => ({ arn, durationSeconds: options.duration })),
            listen: options.listen ?? DEFAULT_LISTEN,
            log: note,
            logRequests: options.verbose === true,
            onSecret: remember,
          })
        }
        if (files.length > 0) {
          rendered = new SecretFiles(files, {
            source: pamSecretSource(pam, { reason: options.reason }),
            pollMs: (options.poll ?? DEFAULT_POLL_S) * 1000,
            log: note,
            onSecret: remember,
            secrets: () => secrets,
          })
          await rendered.start()
        }
        if (endpoints !== undefined) {
          const lines = Object.entries(endpoints.env).map(([name, value]) => `${name}=${shellQuote(value)}\n`)
          if (envOut !== undefined) {
            try {
              await writeFileAtomically(envOut, lines.join(''))
            } catch (error) {
              const code = (error as NodeJS.ErrnoException).code ?? 'error'
              throw new CliError('OutputUnwritable', `cannot write --env-out ${options.envOut}: ${code}`, {
                cause: error,
              })
            }
            envWritten = true
          }
          const served = roles.map((arn) => `${arn} (${VENDOR_NAMES[vendorOfRoleArn(arn)]})`).join(', ')
          note(`serving ${served} on ${endpoints.url}, loopback only`)
          const names = Object.keys(endpoints.env).join(', ')
          if (envOut !== undefined)
            note(
              `the consumer's environment is in ${options.envOut} (mode 0600; set -a; . FILE; set +a): ${names}`,
            )
          if (options.printEnv === true) for (const line of lines) ctx.io.stderr.write(line)
          note(`in the consumer, leave unset: ${endpoints.unset.join(', ')} (they take precedence)`)
        }
        if (rendered !== undefined)
          note(
            `rendering ${files.map((f) => `${f.shown} (${formatReference(f.reference)})`).join(', ')}, mode 0600, re-read every ${options.poll ?? DEFAULT_POLL_S} s`,
          )
        if (ctx.out.json) {
          await ctx.out.write(
            `${toJson({
              url: endpoints?.url ?? null,
              roles: roles.map((arn) => ({ arn, vendor: vendorOfRoleArn(arn) })),
              variables: Object.keys(endpoints?.env ?? {}),
              envFile: envOut ?? null,
              files: files.map((f) => f.path),
            })}\n`,
          )
        }
        note('ready; stops on SIGINT or SIGTERM')
        await stopSignal(ctx.io.onInterrupt)
        note('stopping')
      } finally {
        rendered?.stop()
        await endpoints?.close()
        if (envWritten && envOut !== undefined) await rm(envOut, { force: true })
      }
    })
}

/** Resolves on the first SIGINT (through `onInterrupt`, so tests can fake it) or SIGTERM. */
function stopSignal(onInterrupt: (handler: () => void) => () => void): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stopInterrupt()
      process.off('SIGTERM', done)
      resolve()
    }
    const stopInterrupt = onInterrupt(done)
    process.on('SIGTERM', done)
  })
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function secondsAtLeast(min: number): (text: string) => number {
  return (text) => {
    const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN
    if (!(seconds >= min) || seconds > 86_400)
      throw new InvalidArgumentError(`expected a number of seconds from ${min} to 86400`)
    return seconds
  }
}
