const UNRESERVED = /^[A-Za-z0-9._~-]$/
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// The methods `fetch` upper-cases (Fetch standard, "normalize a method"); others are case-sensitive.
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

/**
 * The `htu` form of a URL (RFC 9449 §4.2, §4.3 check 9): no query, no fragment, no user info, after
 * the normalisation of RFC 3986 §6.2.2-6.2.3 (`URL` lower-cases scheme and host, drops the default
 * port, removes dot segments, writes an empty path as `/`; here percent-encoded unreserved
 * characters are decoded and other escapes upper-cased). Undefined unless an absolute http(s) URL.
 */
export function normalizedHtu(url: string | URL): string | undefined {
  const href = typeof url === 'string' ? url : url instanceof URL ? url.href : undefined
  if (href === undefined || !URL.canParse(href)) return undefined
  const parsed = new URL(href)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined
  const path = parsed.pathname.replace(/%[0-9A-Fa-f]{2}/g, (encoded) => {
    const char = String.fromCharCode(Number.parseInt(encoded.slice(1), 16))
    return UNRESERVED.test(char) ? char : encoded.toUpperCase()
  })
  return `${parsed.protocol}//${parsed.host}${path}`
}

/** The `htm` form of a method: an HTTP token, the methods `fetch` normalises upper-cased. */
export function normalizedHtm(method: string): string | undefined {
  if (typeof method !== 'string' || !TOKEN.test(method)) return undefined
  const upper = method.toUpperCase()
  return NORMALISED_METHODS.has(upper) ? upper : method
}
