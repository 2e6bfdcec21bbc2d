import { ConfigurationError } from '../errors.js'

/**
 * A `ConfigurationError` for one key of one file: `<file>: <keyPath> <rule>`. `keyPath` is the key as
 * written in the file, with its parents (`http_configuration.read_timeout`); it is also kept in
 * `field`. Callers never put a value into `rule` unless the key is not sensitive (see `isSensitiveKey`).
 */
export function keyError(file: string, keyPath: string, rule: string): ConfigurationError {
  return new ConfigurationError(`${file}: ${keyPath} ${rule}`, { field: keyPath })
}

/** A `ConfigurationError` about a whole file (missing, unreadable, not JSON, not an object). */
export function fileError(file: string, problem: string, cause?: unknown): ConfigurationError {
  return new ConfigurationError(`${file}: ${problem}`, cause === undefined ? {} : { cause })
}

/** No configuration file exists at any of the paths tried: a default credential chain moves on. */
export class NoConfigurationFile extends ConfigurationError {}
