import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, unlinkSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/** A fresh name beside `path`, in the same folder so that a rename onto `path` is atomic. */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`)
}

/** How old a temporary copy beside a target must be before a later run takes it for a crash's. */
export const STALE_TEMP_MS = 60 * 60_000

/**
 * Removes the temporary copies (`tempPathBeside`) of `path` that a run killed before it could
 * remove its own left behind: each a whole copy of the database, which crashed cron backups
 * piled up (found by a review). Only regular files of that exact name shape, unchanged for
 * `STALE_TEMP_MS`: a run still writing one touches it. Answers how many went.
 */
export function removeStaleTemps(path: string, now = Date.now()): number {
  const folder = dirname(path)
  const shape = new RegExp(`^\\.${escapeRegExp(basename(path))}\\.tmp-[0-9a-f]{12}$`)
  let names: string[]
  try {
    names = readdirSync(folder)
  } catch {
    return 0
  }
  let removed = 0
  for (const name of names) {
    if (!shape.test(name)) continue
    const temp = join(folder, name)
    try {
      const stat = lstatSync(temp)
      if (!stat.isFile() || now - stat.mtimeMs < STALE_TEMP_MS) continue
      unlinkSync(temp)
      removed++
    } catch {
      // Gone meanwhile, or not ours to remove: left as it is.
    }
  }
  return removed
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Creates `path` empty, exclusively and private (0600): nothing else can have it open yet. */
export function createPrivateEmptyFile(path: string): void {
  closeSync(openSync(path, 'wx', 0o600))
}

/** Flushes a file's content, or a folder's entries (so that a file renamed into it survives a crash). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
