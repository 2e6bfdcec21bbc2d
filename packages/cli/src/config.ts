import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { CliError } from './errors.js'

/** Where `npm start` leaves the URL of the server it started, relative to the working folder. */
export const URL_FILE = '.strongroom/url'
/** Where `npm start` leaves the operator admin token, relative to the working folder. */
export const ADMIN_TOKEN_FILE = '.strongroom/admin-token'

type Env = Readonly<Record<string, string | undefined>>

export interface Resolved {
  value: string
  /** Where the value came from, for messages: `--url`, `STRONGROOM_URL`, a file path. */
  source: string
}

/** The server URL: `--url`, else `STRONGROOM_URL`, else the file `./.strongroom/url`. */
export function resolveServerUrl(flag: string | undefined, env: Env, cwd: string): Resolved {
  const file = resolve(cwd, URL_FILE)
  const found =
    fromValue(flag, '--url') ??
    fromValue(env['STRONGROOM_URL'], 'STRONGROOM_URL') ??
    fromFile(file, 'url', true)
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
  return found
}

/**
 * The admin token: `STRONGROOM_ADMIN_TOKEN`, else the file `--token-file`, else
 * `./.strongroom/admin-token`. Never an argument: arguments end up in shell history and `ps`.
 * A token file that group or others may read is used all the same (refusing it would break what
 * worked), with one line given to `warn` saying how to fix it; the server, for its root key,
 * refuses.
 */
export function resolveAdminToken(
  tokenFile: string | undefined,
  env: Env,
  cwd: string,
  warn: (line: string) => void = () => {},
): Resolved {
  const defaultFile = resolve(cwd, ADMIN_TOKEN_FILE)
  const onMode = (path: string, mode: number) => {
    if ((mode & 0o044) !== 0 && process.platform !== 'win32') {
      warn(
        `warning: the admin token file ${path} can be read by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
      )
    }
  }
  const found =
    fromValue(env['STRONGROOM_ADMIN_TOKEN'], 'STRONGROOM_ADMIN_TOKEN') ??
    (tokenFile === undefined
      ? fromFile(defaultFile, 'admin token', true, onMode)
      : fromFile(resolve(cwd, tokenFile), 'admin token', false, onMode))
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
  return found
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
 * otherwise. `onMode` is given the mode of the file read (of the file opened, not of a name that
 * may have changed since).
 */
function fromFile(
  path: string,
  what: string,
  optional: boolean,
  onMode?: (path: string, mode: number) => void,
): Resolved | undefined {
  let text: string
  let mode: number
  try {
    const fd = openSync(path, 'r')
    try {
      mode = fstatSync(fd).mode
      text = readFileSync(fd, 'utf8')
    } finally {
      closeSync(fd)
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && optional) return undefined
    throw new CliError('ConfigInvalid', `cannot read the ${what} file ${path}: ${code ?? 'unreadable'}`)
  }
  onMode?.(path, mode)
  const value = text.trim()
  if (value === '') throw new CliError('ConfigInvalid', `the ${what} file ${path} is empty`)
  return { value, source: path }
}
