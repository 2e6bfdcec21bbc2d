import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { CloudRolesContributor } from '../credential-endpoints/cloud-role-contributor.js'
import { CliError, UsageError } from '../errors.js'
import { parseEnvFile } from '../run/env-file.js'
import { type EnvironmentContributor, inheritedSource, mergeSources } from '../run/environment.js'
import { lazyPamSource, ReferencesContributor } from '../run/resolve-references.js'
import { supervise } from '../run/supervisor.js'
import { configOption, type WorkloadOptions, workloadClient } from '../workload/workload-client.js'
import type { ContextFor } from './context-for.js'

/** The shortest `--watch-interval`: every poll is an audited read per reference on the server. */
export const MIN_WATCH_INTERVAL_S = 5
const DEFAULT_WATCH_INTERVAL_S = 60
const DEFAULT_WATCH_DEBOUNCE_S = 2
const DEFAULT_GRACE_S = 10

export interface RunOptions extends WorkloadOptions {
  envFile: string[]
  env: string[]
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

const HELP_AFTER = `
References (in the inherited environment, --env-file and --env values):
  strongroom://credential/IDENTIFIER            an api_key credential's API key
  strongroom://credential/IDENTIFIER/FIELD      FIELD: apiKey, clientId, clientSecret, password,
                                                username, privateKey, passphrase
  strongroom://account/TARGET/ACCOUNT/password  a privileged account's password
  strongroom://account/TARGET/ACCOUNT/ssh-key   its SSH private key, as stored
  strongroom://provider/IDENTIFIER/oauth-token  an oauth provider's access token
Other values pass through unchanged. Later sources win: the environment, then each --env-file,
then each --env. Secrets (4 characters or more) are replaced by <concealed by strongroom> in the
command's stdout and stderr unless --no-masking. The exit code is the command's (128 + N when
signal N killed it); 127 when it is not found, 126 when it cannot be run, 1 when a reference
cannot be resolved (nothing is started).

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
    .option('--env-file <file>', 'read variables from FILE, in dotenv syntax (repeatable)', collect, [])
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
    .option('--verbose', 'say on stderr what run does (references, requests, polls, signals; never a value)')
    .addOption(configOption())
    .addHelpText('after', HELP_AFTER)
    .action(async (command: string, args: string[], options: RunOptions, cmd: Command) => {
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
        options.envFile.map(async (file) => {
          let text: string
          try {
            text = await readFile(resolve(ctx.io.cwd, file), 'utf8')
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code ?? 'error'
            throw new CliError('InputUnreadable', `cannot read --env-file ${file}: ${code}`, { cause: error })
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
        stdout: ctx.io.stdout,
        stderr: ctx.io.stderr,
        verbose: options.verbose === true,
        remember: (secret) => ctx.rememberSecret(secret),
      })
      ctx.fail(code)
    })
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
  return { name, value: text.slice(eq + 1) }
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
