import { invalidArgument } from './proof-error.js'

const UNRESERVED = /^[A-Za-z0-9._~-]$/
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// The methods `fetch` upper-cases (Fetch standard, "normalize a method"); others are case-sensitive.
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

/**
 * The `htu` of a request (RFC 9449 §4.2, §4.3): the URL without query and fragment, after the
 * syntax- and scheme-based normalisation of RFC 3986 §6.2.2-6.2.3 (lower-case scheme and host,
 * default port dropped, dot segments removed, empty path as `/`, percent-encoded unreserved
 * characters decoded and other percent-encodings upper-cased). User info is dropped. Returns
 * undefined when `url` is not an absolute http(s) URL.
 */
export function normalizedHtu(url: string | URL): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(typeof url === 'string' ? url : url.href)
  } catch {
    return undefined
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined
  const path = parsed.pathname.replace(/%[0-9A-Fa-f]{2}/g, (encoded) => {
    const char = String.fromCharCode(Number.parseInt(encoded.slice(1), 16))
    return UNRESERVED.test(char) ? char : encoded.toUpperCase()
  })
  return `${parsed.protocol}//${parsed.host}${path}`
}

/** `normalizedHtu` for a URL the caller gave: a `TypeError` when it is not absolute http(s). */
export function requestHtu(url: string | URL): string {
  const htu = typeof url === 'string' || url instanceof URL ? normalizedHtu(url) : undefined
  if (htu === undefined) throw invalidArgument('url must be an absolute http: or https: URL')
  return htu
}

/** The `htm` of a request: an HTTP method token, the methods `fetch` normalises upper-cased. */
export function normalizedHtm(method: string): string | undefined {
  if (typeof method !== 'string' || !TOKEN.test(method)) return undefined
  const upper = method.toUpperCase()
  return NORMALISED_METHODS.has(upper) ? upper : method
}

/** `normalizedHtm` for a method the caller gave: a `TypeError` when it is not an HTTP token. */
export function requestHtm(method: string): string {
  const htm = normalizedHtm(method)
  if (htm === undefined) throw invalidArgument('method must be an HTTP method token such as GET or POST')
  return htm
}
