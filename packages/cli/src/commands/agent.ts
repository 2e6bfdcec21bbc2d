import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { writeFailure, writeFileAtomically } from '../credential-endpoints/atomic-file.js'
import {
  type CredentialEndpoints,
  rolesByVendor,
  startCredentialEndpoints,
} from '../credential-endpoints/credential-endpoints.js'
import { parseLoopbackListen } from '../credential-endpoints/listen-address.js'
import { checkDistinctPaths, parseFileSpec, SecretFiles } from '../credential-endpoints/secret-files.js'
import { VENDOR_NAMES, vendorOfRoleArn } from '../credential-endpoints/vendors.js'
import { CliError, UsageError } from '../errors.js'
import { GuardedOutput } from '../run/guarded-output.js'
import { RETIRE_GRACE_MS, SecretSet } from '../run/masking-stream.js'
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
the held credentials are served until they expire, then 503 with Retry-After (the server is asked
again after 1 s, doubling to 30 s, not at every request).

Files (--file PATH=REF, REF as for strongroom run: strongroom://credential/ID[/FIELD],
strongroom://account/TARGET/ACCOUNT/password|ssh-key, strongroom://provider/ID/oauth-token) are
written with mode 0600 (beside PATH, then renamed), holding the value exactly, and rewritten when a
poll (--poll, one audited read per reference) finds it changed. At start, all or none: when one
cannot be read or written, no file is written. A folder another user may write (group- or
world-writable without the sticky bit, or another user's) is refused, for --env-out too.

Runs until SIGINT, SIGTERM or SIGHUP. When its stderr's reader goes away it keeps serving.

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

      // The agent outlives its output's readers (a closed terminal, `agent … 2>&1 | head`): a write
      // that fails marks the output broken and is dropped, and the agent goes on serving. Unguarded,
      // stderr's EPIPE was an uncaught exception: the endpoint went away while its credentials were
      // valid, and --env-out was left behind.
      const stderr = new GuardedOutput(ctx.io.stderr)
      const stdout = new GuardedOutput(ctx.io.stdout)
      // What log lines are redacted of: the capabilities and current values for as long as the agent
      // runs, a cloud credential until an hour after it expires, a rotated file value an hour after
      // it was replaced; then forgotten, so the set does not grow with every refresh.
      const secrets = new SecretSet()
      /** One line on stderr; any secret known so far is redacted, control characters flattened. */
      const note = (line: string) => {
        let text = line
        for (const secret of secrets.values()) text = text.replaceAll(secret, '[redacted]')
        stderr.write(`strongroom: agent: ${text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')}\n`)
      }
      try {
        await serve()
      } catch (error) {
        // The CLI's last-resort error line is redacted of what is live now.
        for (const secret of secrets.values()) ctx.rememberSecret(secret)
        throw error
      }

      async function serve(): Promise<void> {
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
              onSecret: (value, until) => secrets.add(value, { until, holder: 'endpoints' }),
            })
          }
          if (files.length > 0) {
            rendered = new SecretFiles(files, {
              source: pamSecretSource(pam, { reason: options.reason }),
              pollMs: (options.poll ?? DEFAULT_POLL_S) * 1000,
              log: note,
              onSecret: (value) => secrets.add(value, { holder: 'files' }),
              onRetired: (value) => secrets.retire(value, Date.now() + RETIRE_GRACE_MS, 'files'),
              secrets: () => secrets.values(),
            })
            await rendered.start()
          }
          if (endpoints !== undefined) {
            const lines = Object.entries(endpoints.env).map(
              ([name, value]) => `${name}=${shellQuote(value)}\n`,
            )
            if (envOut !== undefined) {
              try {
                await writeFileAtomically(envOut, lines.join(''))
              } catch (error) {
                throw new CliError(
                  'OutputUnwritable',
                  `cannot write --env-out ${options.envOut}: ${writeFailure(error)}`,
                  { cause: error },
                )
              }
              envWritten = true
              // The last resort for a stop that skips `finally` (an uncaught exception, process.exit):
              // the file names a capability to an endpoint that is gone.
              process.once('exit', removeEnvOut)
            }
            const served = roles.map((arn) => `${arn} (${VENDOR_NAMES[vendorOfRoleArn(arn)]})`).join(', ')
            note(`serving ${served} on ${endpoints.url}, loopback only`)
            const names = Object.keys(endpoints.env).join(', ')
            if (envOut !== undefined)
              note(
                `the consumer's environment is in ${options.envOut} (mode 0600; set -a; . FILE; set +a): ${names}`,
              )
            if (options.printEnv === true) for (const line of lines) stderr.write(line)
            note(`in the consumer, leave unset: ${endpoints.unset.join(', ')} (they take precedence)`)
          }
          if (rendered !== undefined)
            note(
              `rendering ${files.map((f) => `${f.shown} (${formatReference(f.reference)})`).join(', ')}, mode 0600, re-read every ${options.poll ?? DEFAULT_POLL_S} s`,
            )
          if (ctx.out.json) {
            stdout.write(
              `${toJson({
                url: endpoints?.url ?? null,
                roles: roles.map((arn) => ({ arn, vendor: vendorOfRoleArn(arn) })),
                variables: Object.keys(endpoints?.env ?? {}),
                envFile: envOut ?? null,
                files: files.map((f) => f.path),
              })}\n`,
            )
          }
          note('ready; stops on SIGINT, SIGTERM or SIGHUP')
          const signal = await stopSignal(ctx.io.onInterrupt)
          note(`${signal}: stopping`)
        } finally {
          // The file first, at once: it names an endpoint about to go away.
          removeEnvOut()
          rendered?.stop()
          await endpoints?.close()
        }

        function removeEnvOut(): void {
          process.off('exit', removeEnvOut)
          if (!envWritten || envOut === undefined) return
          envWritten = false
          try {
            rmSync(envOut, { force: true })
          } catch (error) {
            note(`cannot remove --env-out ${options.envOut}: ${writeFailure(error)}`)
          }
        }
      }
    })
}

/** The signals that stop the agent, its cleanup run. SIGHUP too: a closed terminal or session sends it. */
const STOP_SIGNALS = ['SIGTERM', 'SIGHUP'] as const

/**
 * Resolves with the first SIGINT (through `onInterrupt`, so tests can fake it), SIGTERM or SIGHUP;
 * then stops listening, so that a second one ends the process by its default action.
 */
function stopSignal(onInterrupt: (handler: () => void) => () => void): Promise<string> {
  return new Promise((resolve) => {
    const listeners = new Map<string, () => void>()
    const done = (signal: string) => {
      stopInterrupt()
      for (const [name, listener] of listeners) process.off(name, listener)
      resolve(signal)
    }
    const stopInterrupt = onInterrupt(() => done('SIGINT'))
    for (const name of STOP_SIGNALS) {
      const listener = () => done(name)
      listeners.set(name, listener)
      process.on(name, listener)
    }
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
