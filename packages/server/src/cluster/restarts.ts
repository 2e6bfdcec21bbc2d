/** How long a worker must have run for its exit to count as a fresh failure, not one more of a loop. */
const STEADY_MS = 60_000
const FIRST_DELAY_MS = 1_000
const MAX_DELAY_MS = 30_000
/** Workers of one slot that failed to start in a row before the primary gives up. */
const MAX_START_FAILURES = 5

/**
 * When the primary of `serve --workers N` starts a slot's worker again after it exited unasked.
 * The delay doubles with each exit that came soon after its start (1 s, 2 s … 30 s at most) and
 * goes back to 1 s only once a worker that listened ran for a minute: a worker that keeps crashing is
 * started at most twice a minute for as long as it keeps crashing. A slot whose workers fail
 * before they listen five times in a row (a database that refuses them, a file they cannot
 * read) is given up: the primary then stops, so the process manager sees the failure.
 */
export class Restarts {
  private quickExits = 0
  private startFailures = 0

  /**
   * A worker of this slot exited unasked `ranMs` after it was forked; `listened`: whether it had
   * started serving. The delay before the next one, or null when the slot is given up.
   */
  exited(ranMs: number, listened: boolean): number | null {
    this.startFailures = listened ? 0 : this.startFailures + 1
    if (this.startFailures >= MAX_START_FAILURES) return null
    // A worker that never listened was not steady, however long it took to fail (a start that
    // hung until the primary killed it).
    this.quickExits = listened && ranMs >= STEADY_MS ? 1 : this.quickExits + 1
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.quickExits - 1))
  }

  /** How many workers of the slot failed to start in a row. */
  get failedStarts(): number {
    return this.startFailures
  }
}
