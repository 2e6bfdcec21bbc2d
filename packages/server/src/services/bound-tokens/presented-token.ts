/** An access token as the `Authorization` header presented it. */
export interface PresentedToken {
  /** `Bearer` (RFC 6750) or `DPoP` (RFC 9449 §7.1), whatever case it was sent in. */
  scheme: 'Bearer' | 'DPoP'
  token: string
}

const AUTHORIZATION = /^(Bearer|DPoP) +([\x21-\x7e]+) *$/i

/**
 * `Authorization: Bearer <token>` or `Authorization: DPoP <token>` (the scheme is
 * case-insensitive, RFC 9110 §11.1); anything else presents no token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export function presentedToken(header: unknown): PresentedToken | undefined {
  if (typeof header !== 'string') return undefined
  const match = AUTHORIZATION.exec(header)
  if (!match) return undefined
  return { scheme: match[1]!.length === 4 ? 'DPoP' : 'Bearer', token: match[2]! }
}
