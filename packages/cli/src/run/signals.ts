import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/**
 * Signal forwarding for `strongroom run`.
 *
 * The command runs in `run`'s own process group (like a shell without job control, `tini` without
 * `-g`, or `uv run`), so it keeps the terminal: it can prompt, read `/dev/tty`, and stop and resume
 * with Ctrl-Z / `fg` together with `run`. The signals below are forwarded to it, except one case.
 *
 * **A keyboard signal is not delivered twice.** Ctrl-C (SIGINT) and Ctrl-\ (SIGQUIT) are sent by
 * the terminal to its whole foreground process group: when `run` is in that group and the command
 * is still in `run`'s group, the command got the signal from the terminal already, and forwarding
 * it would deliver it twice (which breaks "press Ctrl-C again to force quit" in npm, vite, the
 * node REPL…; `cross-env` forwards SIGINT unconditionally and has this bug). Node does
 * not tell who sent a signal (no `siginfo`), so `run` asks, when the signal arrives, whether the
 * terminal could have sent it to both: from `/proc/self/stat` and `/proc/<child>/stat` on Linux
 * (`pgrp` and the terminal's foreground group `tpgid`), else from `ps -o pgid=,tpgid=`.
 * Everywhere else — no controlling terminal (CI, systemd, Kubernetes, a pipe), `run` in the
 * background, a command that moved to a process group of its own, or any doubt — it forwards.
 * `uv run` instead never forwards the first SIGINT, and `kill -INT` from a CI runner then never
 * reaches the command (astral-sh/uv#12108); this check does not have that problem.
 *
 * What it cannot tell: `kill -INT <run>` sent from another terminal while `run` itself is in the
 * foreground of its terminal is taken for a Ctrl-C and not forwarded. Signal the command, or the
 * whole group (`kill -INT -- -<pgid>`), or send SIGTERM, which is always forwarded.
 */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const
export type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number]

/** The signals a terminal sends from the keyboard to its foreground process group. */
const KEYBOARD_SIGNALS: ReadonlySet<ForwardedSignal> = new Set(['SIGINT', 'SIGQUIT'])

/** What is known about process groups when a signal arrives; `undefined` where unknown. */
export interface GroupFacts {
  /** `run`'s process group. */
  readonly ours: number | undefined
  /** The foreground process group of `run`'s controlling terminal (≤ 0: no terminal). */
  readonly foreground: number | undefined
  /** The command's process group. */
  readonly child: number | undefined
}

/**
 * Whether the terminal already delivered `signal` to the command: a keyboard signal, `run` in its
 * terminal's foreground group, and the command still in that group. Unknown facts mean no.
 */
export function terminalDelivered(signal: ForwardedSignal, facts: GroupFacts): boolean {
  if (!KEYBOARD_SIGNALS.has(signal)) return false
  const { ours, foreground, child } = facts
  if (ours === undefined || foreground === undefined || child === undefined) return false
  return foreground > 0 && foreground === ours && child === ours
}

/** `pgrp` and `tpgid` of a process, from the text of `/proc/<pid>/stat`. */
export function parseProcStat(text: string): { pgrp: number; tpgid: number } | undefined {
  // The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // After the name: state ppid pgrp session tty_nr tpgid …
  const pgrp = Number(fields[2])
  const tpgid = Number(fields[5])
  return Number.isInteger(pgrp) && Number.isInteger(tpgid) ? { pgrp, tpgid } : undefined
}

/** Reads the process-group facts of this process and `childPid` from the operating system. */
export function readGroupFacts(childPid: number): GroupFacts {
  const self = groupsOf(process.pid)
  const child = groupsOf(childPid)
  return { ours: self?.pgrp, foreground: self?.tpgid, child: child?.pgrp }
}

function groupsOf(pid: number): { pgrp: number; tpgid: number } | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    // No /proc (macOS, the BSDs): ask ps, which knows both.
  }
  try {
    const ps = spawnSync('ps', ['-o', 'pgid=,tpgid=', '-p', String(pid)], { encoding: 'utf8', timeout: 1000 })
    const [pgrp, tpgid] = ps.stdout.trim().split(/\s+/).map(Number)
    return Number.isInteger(pgrp) && Number.isInteger(tpgid) ? { pgrp: pgrp!, tpgid: tpgid! } : undefined
  } catch {
    return undefined
  }
}

/** Where signals come from: the process, or a fake in tests. */
export interface SignalSource {
  on(signal: ForwardedSignal, listener: () => void): unknown
  off(signal: ForwardedSignal, listener: () => void): unknown
}

/**
 * Listens for the forwarded signals, which then no longer end `run`: `onSignal` decides. Returns
 * the function that stops listening (and gives the signals their default action back).
 */
export function listenForSignals(
  onSignal: (signal: ForwardedSignal) => void,
  source: SignalSource = process,
): () => void {
  const listeners = FORWARDED_SIGNALS.map((signal) => {
    const listener = () => onSignal(signal)
    try {
      source.on(signal, listener)
    } catch {
      // A platform without this signal (Windows has no SIGUSR1): nothing to forward.
    }
    return [signal, listener] as const
  })
  return () => {
    for (const [signal, listener] of listeners) source.off(signal, listener)
  }
}
