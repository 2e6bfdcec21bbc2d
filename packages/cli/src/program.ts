import { Command, CommanderError } from 'commander'
import { registerAccountCommands } from './commands/account.js'
import { registerAdminCommands } from './commands/admin.js'
import { registerAdminTokenCommands } from './commands/admin-token.js'
import { registerAgentCommand } from './commands/agent.js'
import { registerAppCommands } from './commands/app.js'
import { registerAuditCommands } from './commands/audit.js'
import { registerBackupCommand } from './commands/backup.js'
import { registerCloudAccountCommands } from './commands/cloud-account.js'
import { registerCredentialCommands } from './commands/credential.js'
import { registerGetCommands } from './commands/get.js'
import { registerGrantCommands } from './commands/grant.js'
import { registerInstanceCommands } from './commands/instance.js'
import { registerProviderCommands } from './commands/provider.js'
import { registerRestoreCommand } from './commands/restore.js'
import { registerRunCommand } from './commands/run.js'
import { registerServeCommand } from './commands/serve.js'
import { registerSigningKeyCommands } from './commands/signing-key.js'
import { registerTokenCommands } from './commands/token.js'
import { Context, type GlobalOptions, type RunState } from './context.js'
import { CliError } from './errors.js'
import { formatError } from './format-error.js'
import { type Io, processIo } from './io.js'
import { version } from './version.js'

export interface ProgramOptions {
  io?: Io
  state?: RunState
}

/**
 * The `strongroom` command tree. Commander is told not to exit: usage errors surface as
 * `CommanderError` from `parseAsync`, which `run` turns into exit code 2.
 *
 * @example
 * await buildProgram({ io }).parseAsync(['instance', 'list', '--json'], { from: 'user' })
 */
export function buildProgram(options: ProgramOptions = {}): Command {
  const io = options.io ?? processIo()
  const state = options.state ?? newRunState()
  const contextFor = (command: Command) => new Context(io, command.optsWithGlobals<GlobalOptions>(), state)

  // Settings are copied to subcommands when they are created, so they come first.
  const program = new Command('strongroom')
    .description('strongroom: privileged access management for workloads')
    .version(version, '-V, --version', 'print the version')
    .option(
      '--url <url>',
      'server URL (else STRONGROOM_URL, else ./.strongroom/url with ./.strongroom/admin-token only)',
    )
    .option(
      '--token-file <path>',
      'admin token file, if STRONGROOM_ADMIN_TOKEN is not set (default: ./.strongroom/admin-token)',
    )
    .option('--instance <instance-id>', "instance (else STRONGROOM_INSTANCE, else the admin token's default)")
    .option('--json', 'print the raw JSON response and nothing else on stdout')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(usageErrorLine(text)),
    })
    .exitOverride()
    .showSuggestionAfterError()

  registerServeCommand(program, contextFor)
  registerInstanceCommands(program, contextFor)
  registerAdminTokenCommands(program, contextFor)
  registerAdminCommands(program, contextFor)
  registerAppCommands(program, contextFor)
  registerCredentialCommands(program, contextFor)
  registerProviderCommands(program, contextFor)
  registerAccountCommands(program, contextFor)
  registerCloudAccountCommands(program, contextFor)
  registerGrantCommands(program, contextFor)
  registerSigningKeyCommands(program, contextFor)
  registerAuditCommands(program, contextFor)
  registerBackupCommand(program, contextFor)
  registerRestoreCommand(program, contextFor)
  registerGetCommands(program, contextFor)
  registerTokenCommands(program, contextFor)
  registerRunCommand(program, contextFor)
  registerAgentCommand(program, contextFor)
  return program
}

/**
 * Runs the CLI on `argv` (without `node` and the script) and resolves to the exit code:
 * 0 success, 1 failure (one `strongroom: …` line on stderr), 2 usage error.
 */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const state = newRunState()
  const program = buildProgram({ io, state })
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return state.exitCode
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2
    io.stderr.write(`${formatError(error, state.secrets)}\n`)
    return error instanceof CliError ? error.exitCode : 1
  }
}

function newRunState(): RunState {
  return { secrets: new Set(), exitCode: 0 }
}

/**
 * Commander's `error: …` as `strongroom: …`. An unknown `--option=value` is shown without its
 * value: someone may have tried to pass a secret as an argument.
 */
export function usageErrorLine(text: string): string {
  const line = text.replace(/^error: /, 'strongroom: ').replace(/'(-[^'=\s]*)=[^']*'/g, "'$1=…'")
  // A value that starts with a dash reads as an option: a signing key's id (an RFC 7638
  // thumbprint, base64url) does one time in 64.
  return /unknown option '-[^-'][^']{2,}'/.test(line)
    ? line.replace(/\n?$/, " (a value that starts with '-', such as a key id, goes after '--')\n")
    : line
}
