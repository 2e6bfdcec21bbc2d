import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { CliError } from './errors.js'

/** Where `npm start` leaves the URL of the server it started, relative to the working folder. */
export const URL_FILE = '.strongroom/url'
/** Where `npm start` leaves the operator admin token, relative to the working folder. */
export const ADMIN_TOKEN_FILE = '.strongroom/admin-token'

/** A config file is a line or two; anything larger is not one. */
const MAX_CONFIG_FILE_BYTES = 64 * 1024

type Env = Readonly<Record<string, string | undefined>>

export interface Resolved {
  value: string
  /** Where the value came from, for messages: `--url`, `STRONGROOM_URL`, a file path. */
  source: string
}

/** A value and whether it came from the working folder's `./.strongroom/` file. */
interface Found {
  resolved: Resolved
  fromFolder: boolean
}

/** The server URL: `--url`, else `STRONGROOM_URL`, else the file `./.strongroom/url`. */
export function resolveServerUrl(flag: string | undefined, env: Env, cwd: string): Resolved {
  return findServerUrl(flag, env, cwd).resolved
}

function findServerUrl(flag: string | undefined, env: Env, cwd: string): Found {
  const file = resolve(cwd, URL_FILE)
  const given = fromValue(flag, '--url') ?? fromValue(env['STRONGROOM_URL'], 'STRONGROOM_URL')
  const found = given ?? fromFile(file, 'url', { optional: true, folder: true })
  if (found === undefined) {
    throw new CliError(
      'ConfigMissing',
      `no server URL: --url not given, STRONGROOM_URL not set and ${file} not found (\`npm start\` creates it)`,
    )
  }
  let url: URL
  try {
    url = new URL(found.value)
  } catch {
    throw new CliError('ConfigInvalid', `the server URL from ${found.source} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('ConfigInvalid', `the server URL from ${found.source} is not an http or https URL`)
  }
  return { resolved: found, fromFolder: given === undefined }
}

/**
 * The admin token: `STRONGROOM_ADMIN_TOKEN`, else the file `--token-file`, else
 * `./.strongroom/admin-token`. Never an argument: arguments end up in shell history and `ps`.
 * A token file that group or others may read is used all the same (refusing it would break what
 * worked), with one line given to `warn` saying how to fix it; the server, for its root key,
 * refuses. The folder's file must be a regular file of the current user, not a symbolic link;
 * a `--token-file` must be a regular file (a link to one is followed: the user named it).
 */
export function resolveAdminToken(
  tokenFile: string | undefined,
  env: Env,
  cwd: string,
  warn: (line: string) => void = () => {},
): Resolved {
  return findAdminToken(tokenFile, env, cwd, warn).resolved
}

function findAdminToken(
  tokenFile: string | undefined,
  env: Env,
  cwd: string,
  warn: (line: string) => void,
): Found {
  const defaultFile = resolve(cwd, ADMIN_TOKEN_FILE)
  const onMode = (path: string, mode: number) => {
    if ((mode & 0o044) !== 0 && process.platform !== 'win32') {
      warn(
        `warning: the admin token file ${path} can be read by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
      )
    }
  }
  const given =
    fromValue(env['STRONGROOM_ADMIN_TOKEN'], 'STRONGROOM_ADMIN_TOKEN') ??
    (tokenFile === undefined
      ? undefined
      : fromFile(resolve(cwd, tokenFile), 'admin token', { optional: false, folder: false, onMode }))
  const found = given ?? fromFile(defaultFile, 'admin token', { optional: true, folder: true, onMode })
  if (found === undefined) {
    throw new CliError(
      'ConfigMissing',
      `no admin token: STRONGROOM_ADMIN_TOKEN not set, --token-file not given and ${defaultFile} not found (\`npm start\` creates it)`,
    )
  }
  // A token goes into an HTTP header; refuse what would make fetch fail with the token in its message.
  if (!/^[\x21-\x7e]+$/.test(found.value)) {
    throw new CliError(
      'ConfigInvalid',
      `the admin token from ${found.source} contains characters a token cannot have`,
    )
  }
  return { resolved: found, fromFolder: given === undefined }
}

/**
 * The server URL and the admin token the admin commands use, found as `resolveServerUrl` and
 * `resolveAdminToken` find them, with one rule between the two: the URL of `./.strongroom/url`
 * goes only with the token of `./.strongroom/admin-token` of the same folder. The working folder
 * may be a repository someone else wrote; its URL must never receive a token from elsewhere.
 */
export function resolveAdminConnection(
  options: { url?: string | undefined; tokenFile?: string | undefined },
  env: Env,
  cwd: string,
  warn: (line: string) => void = () => {},
): { url: Resolved; token: Resolved } {
  const url = findServerUrl(options.url, env, cwd)
  const token = findAdminToken(options.tokenFile, env, cwd, warn)
  if (url.fromFolder && !token.fromFolder) {
    throw new CliError(
      'ConfigInvalid',
      `the server URL of ${url.resolved.source} is used only with the admin token of ${resolve(cwd, ADMIN_TOKEN_FILE)} in the same folder, not with the one from ${token.resolved.source}: give --url or STRONGROOM_URL`,
    )
  }
  return { url: url.resolved, token: token.resolved }
}

/** `--instance`, else `STRONGROOM_INSTANCE`; undefined when neither is set. */
export function resolveInstanceOption(flag: string | undefined, env: Env): string | undefined {
  return (
    fromValue(flag, '--instance')?.value ??
    fromValue(env['STRONGROOM_INSTANCE'], 'STRONGROOM_INSTANCE')?.value
  )
}

function fromValue(value: string | undefined, source: string): Resolved | undefined {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === '' ? undefined : { value: trimmed, source }
}

/**
 * Reads and trims a small config file; a missing one is undefined when `optional`, an error
 * otherwise. Only a regular file is read (never a FIFO that would block, or a device); `folder`
 * files (`./.strongroom/…`, found rather than named by the user) are opened without following a
 * symbolic link and must be owned by the current user. Every check is on the file opened, not
 * on a name that may have changed since; `onMode` is given the mode of that file.
 */
function fromFile(
  path: string,
  what: string,
  options: { optional: boolean; folder: boolean; onMode?: (path: string, mode: number) => void },
): Resolved | undefined {
  const noFollow = options.folder ? (constants.O_NOFOLLOW ?? 0) : 0
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | noFollow)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && options.optional) return undefined
    if (code === 'ELOOP' && options.folder) {
      throw new CliError(
        'ConfigInvalid',
        `the ${what} file ${path} is a symbolic link; refused: it must be a regular file of your own`,
      )
    }
    throw new CliError('ConfigInvalid', `cannot read the ${what} file ${path}: ${code ?? 'unreadable'}`)
  }
  let text: string
  let mode: number
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) {
      throw new CliError('ConfigInvalid', `the ${what} file ${path} is not a regular file; refused`)
    }
    const uid = process.getuid?.()
    if (options.folder && uid !== undefined && stat.uid !== uid) {
      throw new CliError(
        'ConfigInvalid',
        `the ${what} file ${path} is owned by uid ${stat.uid}, not by you (uid ${uid}); refused`,
      )
    }
    if (stat.size > MAX_CONFIG_FILE_BYTES) {
      throw new CliError('ConfigInvalid', `the ${what} file ${path} is too large to be one; refused`)
    }
    mode = stat.mode
    text = readFileSync(fd, 'utf8')
  } catch (error) {
    if (error instanceof CliError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new CliError('ConfigInvalid', `cannot read the ${what} file ${path}: ${code ?? 'unreadable'}`)
  } finally {
    closeSync(fd)
  }
  options.onMode?.(path, mode)
  const value = text.trim()
  if (value === '') throw new CliError('ConfigInvalid', `the ${what} file ${path} is empty`)
  return { value, source: path }
}
