// @ts-check
/** What the machine is and how busy it is: for the report, and to flag runs disturbed by other work. */
import { readFileSync } from 'node:fs'
import os from 'node:os'

export function machineInfo() {
  const cpus = os.cpus()
  return {
    node: process.version,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    loadavg: os.loadavg().map((n) => Math.round(n * 100) / 100),
  }
}

/**
 * Busy and total CPU time of the whole machine so far (ms, all cores), from /proc/stat; null where
 * there is no /proc. Steal time counts as busy: the hypervisor gave it to someone else.
 * @returns {{ busyMs: number, totalMs: number } | null}
 */
export function machineCpu() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (clock ticks, 100/s)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    const busy = user + nice + system + irq + softirq + steal
    return { busyMs: busy * 10, totalMs: (busy + idle + iowait) * 10 }
  } catch {
    return null
  }
}
