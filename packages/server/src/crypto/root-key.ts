import { createHmac, randomBytes } from 'node:crypto'
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs'
import { ConfigError } from '../errors.js'

export const ROOT_KEY_BYTES = 32

/** Where the root key comes from: the environment (base64) or a file holding base64. */
export type RootKeySource = { kind: 'env'; base64: string } | { kind: 'file'; path: string; create: boolean }

/**
 * Loads the 32-byte root key. A key file must be private to its owner (mode 0600): a readable
 * key file is refused rather than used. With `create`, a missing file is created with a fresh
 * key, mode 0600, and fsynced before use.
 */
export function loadRootKey(source: RootKeySource): Buffer {
  if (source.kind === 'env') return decodeRootKey(source.base64, 'STRONGROOM_ROOT_KEY')
  let text: string
  try {
    const stat = statSync(source.path)
    if ((stat.mode & 0o077) !== 0) {
      throw new ConfigError(
        `root key file ${source.path} is readable by others (mode ${(stat.mode & 0o777).toString(8)}); run: chmod 600 ${source.path}`,
      )
    }
    text = readFileSync(source.path, 'utf8')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && source.create)
      return createRootKeyFile(source.path)
    throw new ConfigError(`cannot read root key file ${source.path}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  return decodeRootKey(text, source.path)
}

/**
 * Reads a key file only to learn which key it holds (its `rootKeyId`), before deciding whether to
 * use it: not its mode, which `loadRootKey` checks once it is chosen. Never waits (a FIFO is
 * refused, not read) and reads no more than a key file holds. `problem` says why a file holds
 * no key.
 */
export function peekRootKeyFile(path: string): { key: Buffer } | { problem: string } {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    return { problem: `it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})` }
  }
  try {
    if (!fstatSync(fd).isFile()) return { problem: 'it is not a regular file' }
    const buffer = Buffer.alloc(256)
    const length = readSync(fd, buffer, 0, buffer.length, 0)
    return { key: decodeRootKey(buffer.subarray(0, length).toString('utf8'), path) }
  } catch (err) {
    return {
      problem:
        err instanceof ConfigError ? 'it holds no root key' : `it cannot be read (${(err as Error).message})`,
    }
  } finally {
    closeSync(fd)
  }
}

export function createRootKeyFile(path: string): Buffer {
  const key = randomBytes(ROOT_KEY_BYTES)
  writePrivateFile(path, `${key.toString('base64')}\n`)
  return key
}

/** Creates `path` exclusively with mode 0600 and fsyncs it: never overwrites, never world-readable. */
export function writePrivateFile(path: string, content: string): void {
  const fd = openSync(path, 'wx', 0o600)
  try {
    writeSync(fd, content)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function decodeRootKey(text: string, where: string): Buffer {
  const trimmed = text.trim()
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0)
  if (key.length !== ROOT_KEY_BYTES) {
    throw new ConfigError(`root key from ${where} must be ${ROOT_KEY_BYTES} bytes in base64 (44 characters)`)
  }
  return key
}

/** A public fingerprint of the root key, stored in the database to detect starting with the wrong key. */
export function rootKeyId(rootKey: Buffer): string {
  return createHmac('sha256', rootKey).update('strongroom root key id').digest('hex').slice(0, 16)
}
