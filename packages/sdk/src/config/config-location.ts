import { isAbsolute, join, resolve } from 'node:path'
import { ConfigurationError } from '../errors.js'

/** The environment variable that names the configuration file, as in the official SDKs. */
export const CONFIG_PATH_ENV = 'CLOUD_IDAAS_CONFIG_PATH'

/**
 * The files looked for in the home directory, in order: the core SDKs' `client-config.json`, then
 * `client_config.json`, the name the Python PAM client's README tells users to create.
 */
export const DEFAULT_CONFIG_FILES = [
  '.cloud_idaas/client-config.json',
  '.cloud_idaas/client_config.json',
] as const

/** Where to look, and why there: what a "not found" error tells the user. */
export interface ConfigLocation {
  /** Absolute paths, to be tried in order; the first that exists is read. */
  readonly paths: readonly string[]
  /** Where the paths came from: `the path option`, `CLOUD_IDAAS_CONFIG_PATH` or `the default locations`. */
  readonly origin: string
}

export interface ConfigLocationInput {
  readonly path?: string | undefined
  readonly env: NodeJS.ProcessEnv
  readonly homedir: () => string
  readonly cwd: string
}

/** An explicit path wins over `CLOUD_IDAAS_CONFIG_PATH`, which wins over the default files. */
export function configLocation(input: ConfigLocationInput): ConfigLocation {
  const explicit = input.path?.trim()
  if (explicit) return { paths: [absolute(explicit, input)], origin: 'the path option' }
  const fromEnv = input.env[CONFIG_PATH_ENV]?.trim()
  if (fromEnv) return { paths: [absolute(fromEnv, input)], origin: CONFIG_PATH_ENV }
  const home = homeOf(input)
  return { paths: DEFAULT_CONFIG_FILES.map((file) => join(home, file)), origin: 'the default locations' }
}

/** `~` and `~/…` are expanded as the official SDKs do; a relative path is taken from `cwd`. */
function absolute(path: string, input: ConfigLocationInput): string {
  if (path === '~') return homeOf(input)
  if (path.startsWith('~/') || path.startsWith('~\\')) return join(homeOf(input), path.slice(2))
  return isAbsolute(path) ? resolve(path) : resolve(input.cwd, path)
}

function homeOf(input: ConfigLocationInput): string {
  let home = ''
  try {
    home = input.homedir()
  } catch {
    // os.homedir() throws when the user has no home directory; reported below.
  }
  if (home.trim() === '') {
    throw new ConfigurationError(
      `No home directory to look for the IDaaS client configuration in; set ${CONFIG_PATH_ENV} or pass a path`,
    )
  }
  return home
}
