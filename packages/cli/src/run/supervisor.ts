import { type RunningChild, startChild } from './child-process.js'
import {
  type ContributorHooks,
  composeEnvironment,
  type EnvironmentContributor,
  type SourcedValue,
} from './environment.js'
import { RETIRE_GRACE_MS, SecretSet } from './masking-stream.js'
import {
  type ForwardedSignal,
  type GroupFacts,
  listenForSignals,
  readGroupFacts,
  type SignalSource,
  terminalDelivered,
} from './signals.js'
import { RestartScheduler } from './watch.js'

/** Signals whose default action ends a process: sent while a restart is under way, they cancel it. */
const STOPPING_SIGNALS: ReadonlySet<ForwardedSignal> = new Set(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'])

export interface RestartPolicy {
  readonly debounceMs: number
  readonly jitterMs: number
  /** After SIGTERM, how long the command has before SIGKILL. */
  readonly graceMs: number
}

export interface SuperviseOptions {
  readonly command: string
  readonly args: readonly string[]
  /** The merged sources (inherited environment, `--dotenv`, `--env`). */
  readonly base: ReadonlyMap<string, SourcedValue>
  readonly contributors: readonly EnvironmentContributor[]
  readonly masking: boolean
  /** With `--watch`: how restarts are paced. */
  readonly watch: RestartPolicy | undefined
  /** `run`'s own output: the masked output of the command, and `run`'s notices on stderr. */
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly verbose: boolean
  readonly idleFlushMs?: number
  readonly signals?: SignalSource
  readonly groupFacts?: (childPid: number) => GroupFacts
  readonly random?: () => number
  /**
   * Told the secrets masked at that moment when `supervise` rejects, to keep them out of the CLI's
   * last-resort error line (told then rather than as each arrives: that set would never shrink).
   */
  readonly remember?: (secret: string) => void
  /** Epoch ms (tests): when concealed values retire. */
  readonly now?: () => number
}

/**
 * Runs the command to its end and resolves with the exit code `run` passes on: sets up the
 * environment contributors, starts the command, forwards signals to it (signals.ts), restarts it
 * when a contributor reports a change (`--watch`), and tears everything down once it exited.
 * Rejects before anything starts when a contributor's setup fails, and with exit code 127 or 126
 * when the command cannot be started.
 */
export async function supervise(options: SuperviseOptions): Promise<number> {
  const now = options.now ?? Date.now
  const secrets = new SecretSet({ now })
  try {
    return await superviseWith(options, secrets)
  } catch (error) {
    for (const secret of secrets.values()) options.remember?.(secret)
    throw error
  }
}

async function superviseWith(options: SuperviseOptions, secrets: SecretSet): Promise<number> {
  const now = options.now ?? Date.now
  const abort = new AbortController()
  const redact = (text: string) => {
    let result = text
    for (const secret of secrets.values()) result = result.replaceAll(secret, '[redacted]')
    return result.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
  }
  const notice = (line: string) => options.stderr.write(`strongroom: ${redact(line)}\n`)
  const verbose = (line: string) => {
    if (options.verbose) notice(line)
  }

  let changes = 0
  let changesAtStart = 0
  let scheduler: RestartScheduler | undefined
  /** Each contributor's hooks: what it conceals is held in its name, so that it retires only its own. */
  const hooksFor = (contributor: EnvironmentContributor): ContributorHooks => ({
    conceal: (value, concealing = {}) =>
      secrets.add(value, { until: concealing.until, holder: contributor.name }) || !options.masking,
    retire: (value) => secrets.retire(value, now() + RETIRE_GRACE_MS, contributor.name),
    changed: (what) => {
      changes++
      notice(
        `${what} changed: the command restarts${scheduler?.pending ? ' (a restart is already on its way)' : ''}`,
      )
      scheduler?.request()
    },
    report: notice,
    verbose,
    signal: abort.signal,
  })
  const hooks = new Map(options.contributors.map((contributor) => [contributor, hooksFor(contributor)]))

  const ready: EnvironmentContributor[] = []
  const teardown = async () => {
    abort.abort()
    for (const contributor of ready.reverse()) {
      try {
        await contributor.teardown()
      } catch (error) {
        notice(
          `${contributor.name}: teardown failed: ${error instanceof Error ? error.message : String(error)}`,
        )
      }
    }
  }
  try {
    for (const contributor of options.contributors) {
      // Torn down even when its own setup fails part-way: teardown must cope with that.
      ready.push(contributor)
      await contributor.setup(hooks.get(contributor)!)
    }
  } catch (error) {
    await teardown()
    throw error
  }

  const start = async (): Promise<RunningChild> => {
    const env = composeEnvironment(options.base, ready)
    changesAtStart = changes
    const child = await startChild({
      command: options.command,
      args: options.args,
      env,
      masking: options.masking ? secrets : undefined,
      stdout: options.stdout,
      stderr: options.stderr,
      ...(options.idleFlushMs === undefined ? {} : { idleFlushMs: options.idleFlushMs }),
    })
    verbose(`started ${JSON.stringify(options.command)} (pid ${child.pid})`)
    return child
  }

  let current: RunningChild | undefined
  /** The command being stopped for a restart. */
  let replacing: RunningChild | undefined
  /**
   * A stopping signal that came while the command was starting or being replaced: no restart after
   * it, and the command about to start gets it.
   */
  let stopping: ForwardedSignal | undefined

  const facts = options.groupFacts ?? readGroupFacts
  const onSignal = (signal: ForwardedSignal) => {
    if ((current === undefined || replacing !== undefined) && STOPPING_SIGNALS.has(signal)) {
      stopping = signal
      scheduler?.cancel()
    }
    const child = current
    if (child === undefined || child.hasExited()) return
    if (terminalDelivered(signal, facts(child.pid))) {
      verbose(`${signal}: the terminal sent it to the command too; not forwarded`)
      return
    }
    child.kill(signal)
    verbose(`${signal}: forwarded to the command (pid ${child.pid})`)
  }

  const restart = () => {
    const child = current
    if (stopping !== undefined || child === undefined || child.hasExited() || replacing !== undefined) return
    if (changes === changesAtStart) return
    const policy = options.watch!
    replacing = child
    notice(`restarting the command: SIGTERM to pid ${child.pid}, SIGKILL after ${policy.graceMs / 1000} s`)
    child.kill('SIGTERM')
    const timer = setTimeout(() => {
      if (child.kill('SIGKILL')) notice(`the command (pid ${child.pid}) did not stop: SIGKILL`)
    }, policy.graceMs)
    void child.exited.then(() => clearTimeout(timer))
  }

  const stopListening = listenForSignals(onSignal, options.signals)
  try {
    current = await start()
    if (stopping !== undefined) current.kill(stopping)
    if (options.watch !== undefined && stopping === undefined) {
      scheduler = new RestartScheduler({
        debounceMs: options.watch.debounceMs,
        jitterMs: options.watch.jitterMs,
        restart,
        ...(options.random === undefined ? {} : { random: options.random }),
      })
      for (const contributor of ready) contributor.watch?.(hooks.get(contributor)!)
    }
    for (;;) {
      const child: RunningChild = current
      const code = await child.exited
      if (replacing !== child || stopping !== undefined) return code
      current = await start()
      replacing = undefined
      if (stopping !== undefined) current.kill(stopping)
    }
  } finally {
    scheduler?.cancel()
    stopListening()
    await teardown()
  }
}
