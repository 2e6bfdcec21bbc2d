import { randomBytes } from 'node:crypto'
import { chmod, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Writes `text` to `path` readable by its owner only (0600): written to a temporary file beside it,
 * synced, and renamed over it, so a reader sees the old content or the new, never half of either,
 * and a file that existed with a looser mode ends up 0600. Throws the file system's error (its
 * `code` says why); the temporary file is removed on failure.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const file = await open(temporary, 'wx', 0o600)
    try {
      await file.writeFile(text)
      await file.sync()
    } finally {
      await file.close()
    }
    // The umask cannot widen 0600, but be explicit where a file system ignored the mode.
    await chmod(temporary, 0o600)
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}
