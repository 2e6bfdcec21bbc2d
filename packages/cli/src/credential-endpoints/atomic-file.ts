import { randomBytes } from 'node:crypto'
import { chmod, link, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Writes `text` to `path` readable by its owner only (0600): written to a temporary file beside it,
 * synced, and renamed over it, so a reader sees the old content or the new, never half of either,
 * and a file that existed with a looser mode ends up 0600. Throws the file system's error (its
 * `code` says why); the temporary file is removed on failure.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = besidePath(path, 'tmp')
  try {
    await writeTemporary(temporary, text)
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

/** A file for {@link writeFilesAtomically}. */
export interface FileToWrite {
  readonly path: string
  readonly text: string
}

/** Which file of {@link writeFilesAtomically} could not be written; `cause` is the file system's error. */
export class FileWriteError extends Error {
  override name = 'FileWriteError'
  readonly path: string

  constructor(path: string, cause: unknown) {
    super(`cannot write ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause })
    this.path = path
  }

  /** The file system's code (`ENOENT`, `EACCES`, `EISDIR`…). */
  get code(): string {
    return (this.cause as NodeJS.ErrnoException).code ?? 'error'
  }
}

/**
 * Writes every file, 0600, or none of them. First each is written to a temporary file beside it and
 * synced; a failure there removes every temporary file and throws. Only then are they renamed over
 * their names, one after the other. Should a rename fail (the name is a folder, a sticky folder's
 * file of another user), the renames already done are undone: a file that did not exist is removed
 * again, one that did is put back from a hard link made to it just before it was replaced. Throws a
 * {@link FileWriteError} naming the file that failed.
 */
export async function writeFilesAtomically(files: readonly FileToWrite[]): Promise<void> {
  const temporaries = files.map((file) => besidePath(file.path, 'tmp'))
  const removeTemporaries = (from: number) =>
    Promise.all(temporaries.slice(from).map((temporary) => rm(temporary, { force: true })))
  for (const [i, file] of files.entries()) {
    try {
      await writeTemporary(temporaries[i]!, file.text)
    } catch (error) {
      await removeTemporaries(0)
      throw new FileWriteError(file.path, error)
    }
  }

  /** The renames done: where the old content is kept, and whether there was one. */
  const done: { path: string; backup: string | undefined; existed: boolean }[] = []
  for (const [i, file] of files.entries()) {
    let backup: string | undefined = besidePath(file.path, 'old')
    let existed = true
    try {
      await link(file.path, backup)
    } catch (error) {
      backup = undefined
      existed = (error as NodeJS.ErrnoException).code !== 'ENOENT'
    }
    try {
      await rename(temporaries[i]!, file.path)
    } catch (error) {
      if (backup !== undefined) await rm(backup, { force: true })
      await removeTemporaries(i)
      await undo(done)
      throw new FileWriteError(file.path, error)
    }
    done.push({ path: file.path, backup, existed })
  }
  await Promise.all(
    done.map(({ backup }) => (backup === undefined ? undefined : rm(backup, { force: true }))),
  )
}

/** Undoes renames, the last first; best effort (a failure here cannot be reported better). */
async function undo(done: readonly { path: string; backup: string | undefined; existed: boolean }[]) {
  for (const { path, backup, existed } of [...done].reverse()) {
    try {
      if (backup !== undefined) await rename(backup, path)
      else if (!existed) await rm(path, { force: true })
      // Existed, but no link could be made to it: the new content stays; nothing better to do.
    } catch {
      if (backup !== undefined) await rm(backup, { force: true }).catch(() => {})
    }
  }
}

/** A hidden, unguessable name beside `path`. */
function besidePath(path: string, suffix: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.${suffix}`)
}

/** Creates `temporary` (it must not exist), 0600, with `text`, synced. */
async function writeTemporary(temporary: string, text: string): Promise<void> {
  const file = await open(temporary, 'wx', 0o600)
  try {
    await file.writeFile(text)
    await file.sync()
  } finally {
    await file.close()
  }
  // The umask cannot widen 0600, but be explicit where a file system ignored the mode.
  await chmod(temporary, 0o600)
}
