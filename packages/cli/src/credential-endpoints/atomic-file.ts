import { randomBytes } from 'node:crypto'
import { link, open, realpath, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'

/**
 * A folder a secret file is not written into: one that another user may write to, or below one.
 * Whoever can write a folder can rename and replace its entries: swap the file for their own
 * between its writing and its renaming (or after), or a link, so that what the consumer reads is
 * theirs; and before the mode was set on the open file, a root agent's `chmod` followed such a
 * link and made any file on the system 0600. Whoever can write an ancestor folder can rename the
 * file's folder away and put their own in its place. `folder` is the offending folder.
 */
export class UnsafeFolderError extends Error {
  override name = 'UnsafeFolderError'
  readonly code = 'UnsafeFolder'
  readonly folder: string

  constructor(message: string, folder: string) {
    super(message)
    this.folder = folder
  }
}

/**
 * Refuses the folder a secret file is written into when another user may write it or any folder
 * above it, up to `/` (as OpenSSH's StrictModes): each must belong to this user or root and not be
 * writable by group or others, unless it has the sticky bit (as /tmp: there others cannot rename
 * or remove entries they do not own) and belongs to this user or root. The folders are those of the
 * path as given and of its real path (its links resolved). A folder that cannot be read is left to
 * the write, whose error says why. Not on Windows, whose modes mean nothing of the sort.
 */
export async function refuseUnsafeFolder(path: string): Promise<void> {
  if (process.platform === 'win32') return
  const folder = dirname(resolve(path))
  const chains = [folder]
  try {
    const real = await realpath(folder)
    if (real !== folder) chains.push(real)
  } catch {
    // Left to the write.
  }
  const seen = new Set<string>()
  for (const start of chains) {
    for (let current = start; ; current = dirname(current)) {
      if (!seen.has(current)) {
        seen.add(current)
        await refuseOne(folder, current)
      }
      if (dirname(current) === current) break
    }
  }
}

/** Refuses `current`, `folder` itself or one of its ancestors, when another user may write it. */
async function refuseOne(folder: string, current: string): Promise<void> {
  let facts: Awaited<ReturnType<typeof stat>>
  try {
    facts = await stat(current)
  } catch {
    return
  }
  if (!facts.isDirectory()) return
  const uid = process.getuid?.()
  const ownedByUs = uid === undefined || facts.uid === uid || facts.uid === 0
  const mode = (facts.mode & 0o7777).toString(8).padStart(4, '0')
  let why: string | undefined
  let fix: string
  if ((facts.mode & 0o022) !== 0 && !((facts.mode & 0o1000) !== 0 && ownedByUs)) {
    const everyone = (facts.mode & 0o002) !== 0
    why = `it is writable by ${everyone ? 'everyone' : 'its group'} (mode ${mode}) without being a sticky folder of this user or root`
    const chmod = `chmod ${!everyone && uid !== undefined && facts.uid === uid ? 'g-w' : 'go-w'} ${current}`
    fix =
      current === folder
        ? `Use a folder only this user (or root) can write, e.g. ${chmod}`
        : `Make every folder above it writable only by this user or root, e.g. ${chmod} (for a Kubernetes emptyDir, which is world-writable: chmod 0755 its folder in an init container running as root)`
  } else if (!ownedByUs) {
    why = `it belongs to another user (uid ${facts.uid}), not this one (uid ${uid}) or root`
    fix =
      current === folder
        ? 'Use a folder of this user or root'
        : 'Use a folder every folder above which belongs to this user or root'
  } else return
  const message =
    current === folder
      ? `refusing to write a secret into ${folder}: ${why}; whoever can write a folder can replace the files in it. ${fix}`
      : `refusing to write a secret into ${folder}: the folder ${current} above it is not safe: ${why}; whoever can write a folder can rename the folders in it and put their own in place of ${folder}. ${fix}`
  throw new UnsafeFolderError(message, current)
}

/** What to say of a failed write: the refusal's reason, else the file system's code. */
export function writeFailure(error: unknown): string {
  if (error instanceof FileWriteError) return writeFailure(error.cause)
  if (error instanceof UnsafeFolderError) return error.message
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message ?? String(error)
}

/**
 * Writes `text` to `path` readable by its owner only (0600): written to a temporary file beside it,
 * synced, and renamed over it, so a reader sees the old content or the new, never half of either,
 * and a file that existed with a looser mode ends up 0600. A folder another user may write is
 * refused first ({@link UnsafeFolderError}). Throws the file system's error (its `code` says why);
 * the temporary file is removed on failure.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  await refuseUnsafeFolder(path)
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
    super(`cannot write ${path}: ${writeFailure(cause)}`, { cause })
    this.path = path
  }

  /** The file system's code (`ENOENT`, `EACCES`, `EISDIR`…). */
  get code(): string {
    return (this.cause as NodeJS.ErrnoException).code ?? 'error'
  }
}

/**
 * Writes every file, 0600, or none of them. First every folder is checked ({@link refuseUnsafeFolder}),
 * then each file is written to a temporary file beside it and synced; a failure there removes every
 * temporary file and throws. Only then are they renamed over
 * their names, one after the other. Should a rename fail (the name is a folder, a sticky folder's
 * file of another user), the renames already done are undone: a file that did not exist is removed
 * again, one that did is put back from a hard link made to it just before it was replaced. Throws a
 * {@link FileWriteError} naming the file that failed.
 */
export async function writeFilesAtomically(files: readonly FileToWrite[]): Promise<void> {
  for (const file of files) {
    try {
      await refuseUnsafeFolder(file.path)
    } catch (error) {
      throw new FileWriteError(file.path, error)
    }
  }
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

/**
 * Creates `temporary` (it must not exist: `wx` neither follows a link nor opens another's file),
 * 0600, with `text`, synced. The mode is also set on the open file before anything is written:
 * the umask cannot widen 0600, but a file system may ignore the mode `open` asks for. Never by
 * path: a `chmod(path)` after `close` follows whatever is at that name by then.
 */
export async function writeTemporary(temporary: string, text: string): Promise<void> {
  const file = await open(temporary, 'wx', 0o600)
  try {
    await file.chmod(0o600)
    await file.writeFile(text)
    await file.sync()
  } finally {
    await file.close()
  }
}
