import { type ChildProcess, spawn } from 'node:child_process'
import { constants } from 'node:os'
import { CliError } from '../errors.js'
import { GuardedOutput } from './guarded-output.js'
import { MaskingStream, type SecretSet } from './masking-stream.js'

/** How long to wait for the command's output to drain once it exited (a grandchild may hold it). */
const OUTPUT_DRAIN_MS = 2_000

export interface ChildSpec {
  readonly command: string
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string>>
  /** Pipe stdout and stderr through a masker of these secrets; `undefined`: inherit them as they are. */
  readonly masking: SecretSet | undefined
  /**
   * Where masked output goes (`run`'s own stdout and stderr). When one is a {@link GuardedOutput}
   * that breaks (its reader went away), the command's end of that pipe is closed: it gets EPIPE
   * (or SIGPIPE) on its next write there, as it would have without `run` in between.
   */
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly idleFlushMs?: number
}

/** A command that started. */
export interface RunningChild {
  readonly pid: number
  /** Resolves with the exit code `run` passes on, once the command exited and its output drained. */
  readonly exited: Promise<number>
  /** Whether it has exited. */
  readonly hasExited: () => boolean
  /** Sends a signal; false when it has exited already. */
  kill(signal: NodeJS.Signals): boolean
}

/**
 * The exit code of a command as a shell reports it: its own code, or 128 + the signal's number when
 * a signal killed it (SIGTERM: 143, SIGKILL: 137).
 */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code
  const number = signal === null ? undefined : constants.signals[signal]
  return number === undefined ? 1 : 128 + number
}

/**
 * A failure to start the command, with the exit code a shell gives it: 127 when it is not found,
 * 126 when it is found but cannot be run (not executable, a folder).
 */
export function spawnFailure(command: string, error: NodeJS.ErrnoException): CliError {
  const shown = JSON.stringify(command)
  switch (error.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new CliError('InputInvalid', `cannot run ${shown}: command not found`, {
        cause: error,
        exitCode: 127,
      })
    case 'EACCES':
    case 'EPERM':
    case 'EISDIR':
    case 'ENOEXEC':
      return new CliError('InputInvalid', `cannot run ${shown}: not executable (${error.code})`, {
        cause: error,
        exitCode: 126,
      })
    default:
      return new CliError('InputInvalid', `cannot run ${shown}: ${error.code ?? 'spawn failed'}`, {
        cause: error,
        exitCode: 126,
      })
  }
}

/**
 * Starts the command in `run`'s process group (see signals.ts for why), with stdin inherited and
 * stdout and stderr either inherited (byte-exact) or piped through a {@link MaskingStream}.
 * Rejects with a `CliError` (exit 127 or 126) when it cannot be started, and (exit 1) when a
 * variable holds a NUL character, which no environment can carry. No message repeats a value of
 * the environment or of an argument: `spawn`'s own errors would.
 */
export function startChild(spec: ChildSpec): Promise<RunningChild> {
  const masking = spec.masking
  const shown = JSON.stringify(spec.command)
  const withNul = Object.keys(spec.env).filter((name) => spec.env[name]!.includes('\0'))
  if (withNul.length > 0) {
    const names = withNul.join(', ')
    return Promise.reject(
      new CliError(
        'InputInvalid',
        `cannot run ${shown}: the value of ${names} contains a NUL character, which an environment variable cannot hold`,
      ),
    )
  }
  const argWithNul = spec.args.findIndex((arg) => arg.includes('\0'))
  if (argWithNul >= 0) {
    const message = `cannot run ${shown}: argument ${argWithNul + 1} contains a NUL character`
    return Promise.reject(new CliError('InputInvalid', message, { exitCode: 126 }))
  }
  let child: ChildProcess
  try {
    child = spawn(spec.command, [...spec.args], {
      env: { ...spec.env },
      stdio: masking === undefined ? 'inherit' : ['inherit', 'pipe', 'pipe'],
    })
  } catch (error) {
    // spawn throws synchronously on what it cannot pass on (e.g. ERR_INVALID_ARG_VALUE), with the
    // value in its message: report the code alone.
    return Promise.reject(spawnFailure(spec.command, error as NodeJS.ErrnoException))
  }
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      child.removeListener('spawn', onSpawn)
      reject(spawnFailure(spec.command, error))
    }
    const onSpawn = () => {
      child.removeListener('error', onError)
      // Errors after a successful spawn (a kill of a process gone) are not worth a crash.
      child.on('error', () => {})
      const outputs =
        masking === undefined
          ? []
          : [
              pipeMasked(child.stdout!, spec.stdout, masking, spec),
              pipeMasked(child.stderr!, spec.stderr, masking, spec),
            ]
      resolve(running(child, outputs))
    }
    child.once('error', onError)
    child.once('spawn', onSpawn)
  })
}

function running(child: ChildProcess, outputs: Promise<void>[]): RunningChild {
  let done = false
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true
      const codeToPass = exitCodeOf(code, signal)
      // The output ends when the last process holding the pipes closes them: usually at once,
      // later when the command left a process behind. Wait a little, not for ever.
      let timer: NodeJS.Timeout | undefined
      const drained = Promise.all(outputs).then(() => clearTimeout(timer))
      const late = new Promise<void>((settle) => {
        timer = setTimeout(() => {
          child.stdout?.destroy()
          child.stderr?.destroy()
          settle()
        }, OUTPUT_DRAIN_MS)
      })
      void Promise.race([drained, late]).then(() => resolve(codeToPass))
    })
  })
  return {
    pid: child.pid!,
    exited,
    hasExited: () => done,
    kill: (signal) => (done ? false : child.kill(signal)),
  }
}

/**
 * Pipes a stream of the command through a masker into `target`, which stays open. When `target`
 * is a {@link GuardedOutput} that breaks, the command's end is closed (at once if it is broken
 * already): what it writes there next fails, instead of being read and dropped for ever.
 */
function pipeMasked(
  source: NodeJS.ReadableStream & { destroy(): void },
  target: NodeJS.WritableStream,
  secrets: SecretSet,
  spec: ChildSpec,
): Promise<void> {
  const masker = new MaskingStream(
    secrets,
    spec.idleFlushMs === undefined ? {} : { idleFlushMs: spec.idleFlushMs },
  )
  return new Promise((resolve) => {
    const stopWatching =
      target instanceof GuardedOutput ? target.whenBroken(() => source.destroy()) : () => {}
    const finish = () => {
      stopWatching()
      resolve()
    }
    masker.once('end', finish)
    masker.once('close', finish)
    source.once('close', () => {
      // A destroyed source (see OUTPUT_DRAIN_MS) never ends the masker: flush what it holds.
      if (!masker.writableEnded) masker.end()
    })
    source.pipe(masker)
    masker.pipe(target, { end: false })
  })
}
