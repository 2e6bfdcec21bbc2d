import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { CloudRolesContributor } from '../credential-endpoints/cloud-role-contributor.js'
import { CliError, UsageError } from '../errors.js'
import { parseEnvFile } from '../run/env-file.js'
import { type EnvironmentContributor, inheritedSource, mergeSources } from '../run/environment.js'
import { GuardedOutput } from '../run/guarded-output.js'
import { lazyPamSource, ReferencesContributor } from '../run/resolve-references.js'
import { supervise } from '../run/supervisor.js'
import {
  type AuthnVariableNames,
  credentialVariables,
  WorkloadCredentialsContributor,
} from '../run/workload-credentials.js'
import { configOption, type WorkloadOptions, workloadClient } from '../workload/workload-client.js'
import type { ContextFor } from './context-for.js'

/** The shortest `--watch-interval`: every poll is an audited read per reference on the server. */
export const MIN_WATCH_INTERVAL_S = 5
const DEFAULT_WATCH_INTERVAL_S = 60
const DEFAULT_WATCH_DEBOUNCE_S = 2
const DEFAULT_GRACE_S = 10

export interface RunOptions extends WorkloadOptions {
  dotenv: string[]
  /** `--env-file`, recognised only to be refused: see {@link RENAMED_ENV_FILE}. */
  envFile?: string | true
  envFileIfExists?: string | true
  env: string[]
  passCredentials?: boolean
  reason?: string
  masking: boolean
  watch?: boolean
  watchInterval?: number
  watchDebounce?: number
  watchJitter?: number
  grace?: number
  verbose?: boolean
  cloudRole: string[]
}

/**
 * Why `--env-file` became `--dotenv`: the `node` binary itself looks for `--env-file` (and
 * `--env-file-if-exists`) anywhere on its command line, options of the script included
 * (nodejs/node#54232; the fix stops only at `--`, and run's options come before it), and loads
 * the file into the CLI's own process before any of strongroom's code runs: a
 * `NODE_OPTIONS=--require …` line in it would run code inside the process that holds the
 * workload's credentials. Node ignores `--dotenv`.
 */
const RENAMED_ENV_FILE = (flag: string) =>
  `${flag} was renamed --dotenv: node itself reads ${flag} from the command line before strongroom starts (nodejs/node#54232), so the file's NODE_OPTIONS would run code inside strongroom`

const HELP_AFTER = `
References (in the inherited environment, --dotenv and --env values):
  strongroom://credential/IDENTIFIER            an api_key credential's API key
  strongroom://credential/IDENTIFIER/FIELD      FIELD: apiKey, clientId, clientSecret, password,
                                                username, privateKey, passphrase
  strongroom://account/TARGET/ACCOUNT/password  a privileged account's password
  strongroom://account/TARGET/ACCOUNT/ssh-key   its SSH private key, as stored
  strongroom://provider/IDENTIFIER/oauth-token  an oauth provider's access token
Other values pass through unchanged. Later sources win: the environment, then each --dotenv,
then each --env. Secrets (4 characters or more) are replaced by <concealed by strongroom> in the
command's stdout and stderr unless --no-masking. The exit code is the command's (128 + N when
signal N killed it); 127 when it is not found, 126 when it cannot be run, 1 when a reference
cannot be resolved (nothing is started).

The variables strongroom authenticates with (IDAAS_CLIENT_SECRET, CLOUD_IDAAS_CLIENT_SECRET,
CLOUD_IDAAS_OIDC_TOKEN_FILE, STRONGROOM_ADMIN_TOKEN and those the client configuration names) are
not passed to the command unless --pass-credentials: they would give it every secret the workload
may read. --env-file is now --dotenv (node itself reads a --env-file argument, nodejs/node#54232).

Example:
  strongroom run --env API_KEY=strongroom://credential/demo/api-key -- node server.js
`

/**
 * `strongroom run [options] -- CMD [ARGS…]`: runs a command with `strongroom://…` references in its
 * environment replaced by secrets, fetched as a workload exactly as `strongroom get` does.
 */
export function registerRunCommand(program: Command, contextFor: ContextFor): void {
  program
    .command('run')
    .description('run a command with strongroom:// references in its environment replaced by secrets')
    .usage('[options] -- <command> [args...]')
    .argument('<command>', 'the command to run (found on PATH)')
    .argument('[args...]', 'its arguments (put -- before the command so its options stay its own)')
    .option('--dotenv <file>', 'read variables from FILE, in dotenv syntax (repeatable)', collect, [])
    // Recognised only to be refused with a word on why (see RENAMED_ENV_FILE).
    .addOption(new Option('--env-file [file]').hideHelp())
    .addOption(new Option('--env-file-if-exists [file]').hideHelp())
    .option('--env <name=value>', 'set a variable, e.g. DB_PASSWORD=strongroom://… (repeatable)', collect, [])
    .option(
      '--reason <text>',
      'why, for account references (recorded in the audit; some accounts require it)',
    )
    .option('--no-masking', "leave the command's output as it is (stdout and stderr inherited, byte-exact)")
    .option('--watch', 'poll the referenced secrets and restart the command once when any changed')
    .addOption(
      new Option(
        '--watch-interval <seconds>',
        `seconds between polls, at least ${MIN_WATCH_INTERVAL_S} (default: ${DEFAULT_WATCH_INTERVAL_S}); each poll is one audited read per distinct reference`,
      ).argParser(secondsAtLeast(MIN_WATCH_INTERVAL_S)),
    )
    .addOption(
      new Option(
        '--watch-debounce <seconds>',
        `changes within this window restart the command once (default: ${DEFAULT_WATCH_DEBOUNCE_S})`,
      ).argParser(secondsAtLeast(0)),
    )
    .addOption(
      new Option(
        '--watch-jitter <seconds>',
        'wait a random 0 to S seconds more before a restart (default: 10% of the interval)',
      ).argParser(secondsAtLeast(0)),
    )
    .addOption(
      new Option(
        '--grace <seconds>',
        `on restart, SIGKILL the command this long after SIGTERM (default: ${DEFAULT_GRACE_S})`,
      ).argParser(secondsAtLeast(0)),
    )
    .option(
      '--cloud-role <arn>',
      "serve this cloud role's STS credentials to the command where the AWS and Alibaba Cloud SDKs look for them (a loopback endpoint, never long-lived keys in the environment; repeatable, one role per vendor)",
      collect,
      [],
    )
    .option(
      '--pass-credentials',
      'pass the variables strongroom authenticates with (IDAAS_CLIENT_SECRET, STRONGROOM_ADMIN_TOKEN, …) to the command, masked in its output; by default they are removed',
    )
    .option('--verbose', 'say on stderr what run does (references, requests, polls, signals; never a value)')
    .addOption(configOption())
    .addHelpText('after', HELP_AFTER)
    .action(async (command: string, args: string[], options: RunOptions, cmd: Command) => {
      if (options.envFile !== undefined) throw new UsageError(RENAMED_ENV_FILE('--env-file'))
      if (options.envFileIfExists !== undefined)
        throw new UsageError(RENAMED_ENV_FILE('--env-file-if-exists'))
      const ctx = contextFor(cmd)
      const watching = options.watch === true
      for (const [flag, value] of [
        ['--watch-interval', options.watchInterval],
        ['--watch-debounce', options.watchDebounce],
        ['--watch-jitter', options.watchJitter],
        ['--grace', options.grace],
      ] as const) {
        if (value !== undefined && !watching) throw new UsageError(`${flag} applies only with --watch`)
      }

      const assignments = options.env.map(assignment)
      const files = await Promise.all(
        options.dotenv.map(async (file) => {
          let text: string
          try {
            text = await readFile(resolve(ctx.io.cwd, file), 'utf8')
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code ?? 'error'
            throw new CliError('InputUnreadable', `cannot read --dotenv ${file}: ${code}`, { cause: error })
          }
          try {
            return parseEnvFile(text, file)
          } catch (error) {
            throw new CliError('InputInvalid', (error as Error).message)
          }
        }),
      )
      const base = mergeSources(
        inheritedSource(ctx.io.env),
        ...files,
        assignments.map(({ name, value }) => ({ name, value, origin: '--env' })),
      )

      const intervalS = options.watchInterval ?? DEFAULT_WATCH_INTERVAL_S
      await using source = lazyPamSource(() => workloadClient(ctx, options), { reason: options.reason })
      const references = new ReferencesContributor(
        base,
        source,
        watching ? { watchIntervalMs: intervalS * 1000 } : {},
      )
      const contributors: EnvironmentContributor[] = [references]
      if (options.cloudRole.length > 0)
        contributors.push(
          new CloudRolesContributor(
            options.cloudRole.map((arn) => ({ arn })),
            () => workloadClient(ctx, options),
          ),
        )
      // Last, so that nothing puts back what it removes.
      const credentials = credentialVariables(await configuredAuthn(ctx.io.env, options))
      const pass = options.passCredentials === true
      contributors.push(new WorkloadCredentialsContributor(base, credentials, { pass }))
      // The command's output must outlive its reader: see guarded-output.ts.
      const stderr = new GuardedOutput(ctx.io.stderr)
      const stdout = new GuardedOutput(ctx.io.stdout, {
        onBroken: (code) => {
          if (code !== 'EPIPE')
            stderr.write(
              `strongroom: cannot write to stdout (${code}): the command's output there is dropped\n`,
            )
        },
      })
      const code = await supervise({
        command,
        args,
        base,
        contributors,
        masking: options.masking,
        watch: watching
          ? {
              debounceMs: (options.watchDebounce ?? DEFAULT_WATCH_DEBOUNCE_S) * 1000,
              jitterMs: (options.watchJitter ?? intervalS / 10) * 1000,
              graceMs: (options.grace ?? DEFAULT_GRACE_S) * 1000,
            }
          : undefined,
        stdout,
        stderr,
        verbose: options.verbose === true,
        remember: (secret) => ctx.rememberSecret(secret),
      })
      ctx.fail(code)
    })
}

/**
 * The variable names the client configuration's `authnConfiguration` gives, when there is a
 * configuration to read (found as `workloadClient` finds it); a missing or broken one names none
 * here, and is reported by the client when a reference or a role needs it.
 */
async function configuredAuthn(
  env: Readonly<Record<string, string | undefined>>,
  options: WorkloadOptions,
): Promise<AuthnVariableNames | undefined> {
  const { loadClientConfig } = await import('@strongroom/sdk')
  try {
    const config = await loadClientConfig({ path: options.config, env: { ...env } as NodeJS.ProcessEnv })
    return config.authnConfiguration
  } catch {
    return undefined
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

/**
 * `--env NAME=VALUE`, checked here rather than in commander's parser, whose message would repeat
 * the argument: it may be a secret someone passed by mistake.
 */
function assignment(text: string, index: number): { name: string; value: string } {
  const eq = text.indexOf('=')
  const name = eq < 0 ? '' : text.slice(0, eq)
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new UsageError(
      `--env number ${index + 1} is not NAME=VALUE (a name is a letter or _, then letters, digits, _, . or -)`,
    )
  }
  const value = text.slice(eq + 1)
  if (value.includes('\0')) {
    throw new UsageError(
      `--env ${name}: the value contains a NUL character, which an environment variable cannot hold`,
    )
  }
  return { name, value }
}

function secondsAtLeast(min: number): (text: string) => number {
  return (text) => {
    const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN
    if (!(seconds >= min) || seconds > 86_400) {
      throw new InvalidArgumentError(`expected a number of seconds from ${min} to 86400`)
    }
    return seconds
  }
}
