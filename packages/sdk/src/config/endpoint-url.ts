/**
 * Endpoint normalisation. Like the official SDKs (`NormalizeUtil` in the Python and Java core SDKs),
 * an endpoint written without a scheme (`eiam-developerapi.cn-hangzhou.aliyuncs.com`) gets
 * `https://`. Unlike them, an explicit `http://` is kept rather than rewritten to `https://`: a
 * strongroom server on a developer machine serves plain HTTP and writes `http://127.0.0.1:…` into the
 * configuration it generates. Trailing slashes are removed so paths can be appended.
 */

/** The outcome of normalising one endpoint: the URL, or the rule it broke (never echoing the value). */
export type EndpointResult = { ok: true; url: string } | { ok: false; rule: string }

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i

export function normaliseEndpoint(written: string): EndpointResult {
  const scheme = SCHEME.exec(written)?.[1]?.toLowerCase()
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    return { ok: false, rule: 'must be an http or https URL' }
  }
  const withScheme = scheme === undefined ? `https://${written}` : written
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return { ok: false, rule: 'must be a valid URL' }
  }
  if (url.hostname === '') return { ok: false, rule: 'must name a host' }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, rule: 'must not contain a user name or password' }
  }
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(withScheme)) {
    return { ok: false, rule: 'must not contain a query or fragment' }
  }
  return { ok: true, url: withScheme.replace(/\/+$/, '') }
}

const warnedOrigins = new Set<string>()

/**
 * Warns once per origin (a process warning, `STRONGROOM_SDK_PLAIN_HTTP`) when `url` is plain http
 * to a host other than this machine: the client secret and every token and secret would cross
 * the network readable and changeable by whoever is on the path. Allowed, as a local server writes
 * `http://127.0.0.1:…`, but never silently.
 */
export function warnIfPlainHttp(url: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return
  }
  if (parsed.protocol !== 'http:' || isLoopback(parsed.hostname) || warnedOrigins.has(parsed.origin)) return
  warnedOrigins.add(parsed.origin)
  process.emitWarning(
    `${parsed.origin} is plain http to another machine: tokens and secrets travel readable by anyone on the path; use https`,
    { code: 'STRONGROOM_SDK_PLAIN_HTTP' },
  )
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}
