import { type CaBundleOptions, loadCaBundle } from './ca-bundle.js'
import type { Transport } from './fetch-like.js'
import { createNodeTransport } from './node-transport.js'
import { hasProxy, proxySettingsFromEnv } from './proxy-settings.js'

/** Options of {@link createDefaultTransport}. */
export interface DefaultTransportOptions extends CaBundleOptions {
  /** Where `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are read (once); `process.env` by default. */
  env?: Readonly<Record<string, string | undefined>> | undefined
  /** See `NodeTransportOptions.insecureSkipTlsVerify`; warns once per process when set. */
  insecureSkipTlsVerify?: boolean | undefined
}

let warned = false

/**
 * The transport used when the caller injects no `fetch`: the platform's global `fetch` when
 * neither a CA bundle nor a proxy is configured, otherwise {@link createNodeTransport} with them.
 * The CA file and the environment are read here, once, so a bad setting fails at construction
 * with a `ConfigurationError`.
 *
 * @example
 * ```ts
 * const transport = createDefaultTransport({ caFile: '/etc/strongroom/ca.pem' })
 * const response = await transport.fetch('https://pam.internal/healthz', { method: 'GET' })
 * transport.close()
 * ```
 */
export function createDefaultTransport(options: DefaultTransportOptions = {}): Transport {
  const ca = loadCaBundle(options)
  const proxy = proxySettingsFromEnv(options.env ?? process.env)
  const insecure = options.insecureSkipTlsVerify === true
  if (insecure && !warned) {
    warned = true
    process.emitWarning(
      'TLS certificate verification is off (unsafeIgnoreSslCert): tokens and secrets can be read by anyone on the path',
      { code: 'STRONGROOM_SDK_INSECURE_TLS' },
    )
  }
  if (ca === undefined && !hasProxy(proxy) && !insecure) {
    return { fetch: (url, init) => globalThis.fetch(url, init), close() {} }
  }
  return createNodeTransport({ ca, proxy, insecureSkipTlsVerify: insecure })
}
