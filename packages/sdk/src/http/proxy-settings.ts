import { ConfigurationError } from '../errors.js'
import { bypassesProxy, type NoProxyList, parseNoProxy } from './no-proxy.js'

/** The proxies to use, as read from the environment by {@link proxySettingsFromEnv}. */
export interface ProxySettings {
  /** Proxy for `https:` URLs (reached with an HTTP `CONNECT` tunnel). */
  readonly httpsProxy: URL | undefined
  /** Proxy for `http:` URLs (sent the request in absolute form). */
  readonly httpProxy: URL | undefined
  readonly noProxy: NoProxyList
}

/**
 * Reads `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` from `env` (the lowercase names win where both
 * are set, as curl does). A proxy value without a scheme is taken as `http://`; `user:password@`
 * in it becomes `Proxy-Authorization: Basic`. An unparsable value is a `ConfigurationError` naming
 * the variable (never its value, which may hold a password).
 */
export function proxySettingsFromEnv(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  return {
    httpsProxy: proxyUrl(env, 'https_proxy'),
    httpProxy: proxyUrl(env, 'http_proxy'),
    noProxy: parseNoProxy(pick(env, 'no_proxy')?.value),
  }
}

/** Whether any proxy is configured at all (so the plain platform `fetch` cannot do). */
export function hasProxy(settings: ProxySettings): boolean {
  return settings.httpsProxy !== undefined || settings.httpProxy !== undefined
}

/** The proxy a request to `url` goes through, or `undefined` for a direct connection. */
export function proxyFor(url: URL, settings: ProxySettings): URL | undefined {
  const proxy = url.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy
  if (proxy === undefined || bypassesProxy(url, settings.noProxy)) return undefined
  return proxy
}

function pick(
  env: Readonly<Record<string, string | undefined>>,
  lower: string,
): { name: string; value: string } | undefined {
  for (const name of [lower, lower.toUpperCase()]) {
    const value = env[name]?.trim()
    if (value) return { name, value }
  }
  return undefined
}

function proxyUrl(env: Readonly<Record<string, string | undefined>>, lower: string): URL | undefined {
  const found = pick(env, lower)
  if (found === undefined) return undefined
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(found.value) ? found.value : `http://${found.value}`
  let url: URL
  try {
    url = new URL(text)
  } catch (cause) {
    throw new ConfigurationError(`${found.name} is not a valid proxy URL`, { cause: stripped(cause) })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigurationError(
      `${found.name} must be an http:// or https:// proxy URL, not ${url.protocol}`,
    )
  }
  return url
}

// `new URL` puts the input (which may hold a proxy password) into its error; keep only the kind.
function stripped(cause: unknown): unknown {
  return cause instanceof Error ? new TypeError('invalid URL') : cause
}
