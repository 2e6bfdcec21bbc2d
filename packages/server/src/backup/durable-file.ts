import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, openSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/** A fresh name beside `path`, in the same folder so that a rename onto `path` is atomic. */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`)
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
