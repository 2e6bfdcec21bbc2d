import { arch, platform, version } from 'node:process'
import { SDK_VERSION } from '../version.js'

/**
 * The `User-Agent` the SDK sends: the SDK and Node versions and the platform, with an optional
 * product token of the caller's appended (for example a CLI's name and version).
 *
 * @example
 * ```ts
 * userAgent() // 'strongroom-sdk/0.1.0 node/v20.20.2 (linux; x64)'
 * userAgent('strongroom-cli/0.1.0') // 'strongroom-sdk/0.1.0 node/v20.20.2 (linux; x64) strongroom-cli/0.1.0'
 * ```
 */
export function userAgent(suffix?: string): string {
  const base = `strongroom-sdk/${SDK_VERSION} node/${version} (${platform}; ${arch})`
  const extra = suffix?.trim()
  return extra ? `${base} ${extra}` : base
}
