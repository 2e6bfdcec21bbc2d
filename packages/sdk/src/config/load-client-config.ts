import { readFile as readFileFromDisk } from 'node:fs/promises'
import { homedir as osHomedir } from 'node:os'
import type { ClientConfig } from './client-config.js'
import { fileError, NoConfigurationFile } from './config-error.js'
import { CONFIG_PATH_ENV, configLocation } from './config-location.js'
import { parseClientConfig } from './parse-client-config.js'

/** Options of {@link loadClientConfig}; all optional. The last four exist so tests need no globals. */
export interface LoadClientConfigOptions {
  /** The file to read; wins over `CLOUD_IDAAS_CONFIG_PATH` and the default locations. `~/` is expanded. */
  readonly path?: string | undefined
  /** Environment to read `CLOUD_IDAAS_CONFIG_PATH` from; defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv | undefined
  /** The home directory holding `.cloud_idaas/`; defaults to `os.homedir()`. */
  readonly homedir?: string | undefined
  /** The directory a relative path is taken from; defaults to `process.cwd()`. */
  readonly cwd?: string | undefined
  /**
   * Reads a file as UTF-8; defaults to `fs.promises.readFile`. A file that does not exist must be
   * reported by rejecting with an error whose `code` is `ENOENT` (or `ENOTDIR`), as Node's does.
   */
  readonly readFile?: ((path: string) => Promise<string>) | undefined
}

/**
 * Finds, reads and checks the IDaaS client configuration file, unchanged from what the official
 * IDaaS SDKs read: `options.path` if given, else the file named by `CLOUD_IDAAS_CONFIG_PATH`, else
 * the first of `~/.cloud_idaas/client-config.json` and `~/.cloud_idaas/client_config.json` that
 * exists. Keys may be camelCase or snake_case; unknown keys are ignored. The result is frozen.
 *
 * @throws {ConfigurationError} when no file exists (listing every path tried), when the file cannot
 * be read or is not JSON (with line and column), or when a key is missing or wrong (naming the key
 * as written, e.g. `httpConfiguration.readTimeout`, and the rule). No message repeats a value of a
 * key whose name sounds secret.
 *
 * @example
 * ```ts
 * import { loadClientConfig } from '@strongroom/sdk'
 *
 * const config = await loadClientConfig()
 * console.log(config.developerApiEndpoint, config.authnConfiguration.authnMethod)
 *
 * // A file of its own, e.g. one written by `strongroom start`:
 * const demo = await loadClientConfig({ path: '.strongroom/client-config.json' })
 * ```
 */
export async function loadClientConfig(options: LoadClientConfigOptions = {}): Promise<ClientConfig> {
  const location = configLocation({
    path: options.path,
    env: options.env ?? process.env,
    homedir: options.homedir === undefined ? osHomedir : () => options.homedir ?? '',
    cwd: options.cwd ?? process.cwd(),
  })
  const read = options.readFile ?? ((path: string) => readFileFromDisk(path, 'utf8'))
  for (const path of location.paths) {
    const text = await readIfExists(read, path)
    if (text !== undefined) return parseClientConfig(text, path)
  }
  throw new NoConfigurationFile(
    `No IDaaS client configuration file found; tried ${location.paths.join(', ')} (from ${location.origin}). ` +
      `Create the file, set ${CONFIG_PATH_ENV} or pass a path.`,
  )
}

async function readIfExists(
  read: (path: string) => Promise<string>,
  path: string,
): Promise<string | undefined> {
  try {
    return await read(path)
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    if (code === 'EISDIR') throw fileError(path, 'is a directory, not a configuration file')
    throw fileError(path, `cannot be read${typeof code === 'string' ? ` (${code})` : ''}`, error)
  }
}
