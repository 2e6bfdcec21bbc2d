import { createHmac, randomBytes } from 'node:crypto'
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs'
import { ConfigError } from '../errors.js'

export const ROOT_KEY_BYTES = 32

/** Where the root key comes from: the environment (base64) or a file holding base64. */
export type RootKeySource = { kind: 'env'; base64: string } | { kind: 'file'; path: string; create: boolean }

/**
 * Loads the 32-byte root key. A key file must be a regular file private to its owner (mode 0600),
 * owned by this process's user or by root: a file anyone else could have written holds a key
 * anyone else may know. Opened once, without waiting (a FIFO is refused, not read forever), and
 * checked on what was opened, so a symlink is judged by its target (a Kubernetes secret's link is
 * fine; one to /dev/zero is not a key file, and no `chmod` is suggested for it). With `create`, a
 * missing file is created with a fresh key, mode 0600, and fsynced before use.
 */
export function loadRootKey(source: RootKeySource): Buffer {
  if (source.kind === 'env') return decodeRootKey(source.base64, 'STRONGROOM_ROOT_KEY')
  const path = source.path
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && source.create) return createdRootKeyFile(path)
    throw new ConfigError(`cannot read root key file ${path}: ${(err as Error).message}`, { cause: err })
  }
  let text: string
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw new ConfigError(`root key file ${path} is not a regular file`)
    const open = [stat.mode & 0o044 ? 'readable' : null, stat.mode & 0o022 ? 'writable' : null].filter(
      Boolean,
    )
    if (open.length > 0) {
      throw new ConfigError(
        `root key file ${path} is ${open.join(' and ')} by others (mode ${(stat.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
      )
    }
    const uid = process.getuid?.()
    if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
      throw new ConfigError(
        `root key file ${path} belongs to another user (uid ${stat.uid}), who could have written the key: it must be this user's (uid ${uid}) or root's`,
      )
    }
    const buffer = Buffer.alloc(256)
    text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`cannot read root key file ${path}: ${(err as Error).message}`, { cause: err })
  } finally {
    closeSync(fd)
  }
  return decodeRootKey(text, path)
}

/** `createRootKeyFile`, its failure (a dangling symlink: EEXIST) named as the key file's. */
function createdRootKeyFile(path: string): Buffer {
  try {
    return createRootKeyFile(path)
  } catch (err) {
    throw new ConfigError(
      `cannot create root key file ${path}: ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'a link or file is in the way (a symlink to a missing file?)' : (err as Error).message}`,
      { cause: err },
    )
  }
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
