/**
 * The console session's cookie. Over TLS it is `__Host-strongroom_session` with `Secure`: the
 * prefix makes the browser refuse one set without `Secure`, with a `Domain` or another path, so a
 * sibling host or a plain-HTTP answer cannot plant or shadow it. Without TLS (a local server) it
 * is `strongroom_session`. Always `HttpOnly` (the page's script never sees it), `SameSite=Strict`
 * (no other site's page sends it), `Path=/` (it reaches `/admin/v1` as well as `/console`).
 */
export const SESSION_COOKIE = 'strongroom_session'
export const SECURE_SESSION_COOKIE = '__Host-strongroom_session'

export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE
}

/**
 * `Set-Cookie` for a new session: a browser-session cookie (no `Max-Age`, no `Expires`), so the
 * browser forgets it when it closes, whatever the session's 8 hours say. The server ends the
 * session by itself (8 hours after sign-in, 30 minutes unused), cookie or not.
 */
export function sessionCookie(secure: boolean, secret: string): string {
  return `${sessionCookieName(secure)}=${secret}${attributes(secure)}`
}

/** `Set-Cookie` that removes the session's cookie from the browser. */
export function clearedSessionCookie(secure: boolean): string {
  return `${sessionCookieName(secure)}=; Max-Age=0${attributes(secure)}`
}

function attributes(secure: boolean): string {
  return `; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`
}

/**
 * The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4: `a=1; b=2`), the first one if
 * the browser sent several; `undefined` when absent or empty.
 */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  const text = Array.isArray(header) ? header.join('; ') : header
  for (const part of text.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue
    let value = part.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    return value === '' ? undefined : value
  }
  return undefined
}
