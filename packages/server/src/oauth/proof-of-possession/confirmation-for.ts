import type { PublicProofJwk } from '@strongroom/dpop'
import { jwkThumbprint, publicJwkFrom } from '../../crypto/jwk.js'
import { InvalidParameter, PamError } from '../../errors.js'

/** A public key a token may be bound to, as the members RFC 7638 hashes: the keys proofs are signed with. */
export type BindablePublicJwk = PublicProofJwk

export interface Confirmation {
  /** The token's confirmation claim (RFC 7800 §3.1, RFC 9449 §6.1). */
  cnf: { jkt: string }
  publicJwk: BindablePublicJwk
}

const MAX_PEM_LENGTH = 16_384

/**
 * The `cnf` claim of a token bound to the caller's public key: `{ jkt }`, its RFC 7638 thumbprint.
 * The key comes as a JWK or a PEM (SPKI or certificate) and must be RSA of at least 2048 bits, EC
 * on P-256 or Ed25519, the keys DPoP proofs are signed with here; a private or symmetric key is
 * refused (`InvalidParameter` naming `field` and the rule), as is anything else.
 *
 * @example
 * ```ts
 * const { cnf } = confirmationFor({ jwk: body.public_key })
 * await mintAccessToken(keys, now, { ...input, cnf })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7800#section-3.1
 */
export function confirmationFor(
  input: { jwk: Record<string, unknown> } | { pem: string },
  field = 'publicKey',
): Confirmation {
  const given = typeof input === 'object' && input !== null ? (input as { jwk?: unknown; pem?: unknown }) : {}
  const hasJwk = given.jwk !== undefined
  const hasPem = given.pem !== undefined
  if (hasJwk === hasPem) throw new InvalidParameter(field, 'must hold exactly one of jwk and pem')
  if (hasJwk && (typeof given.jwk !== 'object' || given.jwk === null || Array.isArray(given.jwk)))
    throw new InvalidParameter(`${field}.jwk`, 'must be a JSON object')
  if (hasPem && (typeof given.pem !== 'string' || given.pem.length > MAX_PEM_LENGTH))
    throw new InvalidParameter(`${field}.pem`, `must be a string of at most ${MAX_PEM_LENGTH} characters`)

  let jwk: Record<string, string>
  try {
    jwk = publicJwkFrom(
      hasJwk ? { jwk: given.jwk as Record<string, unknown> } : { pem: given.pem as string },
      field,
    )
  } catch (err) {
    if (err instanceof PamError) throw err
    // e.g. an RSASSA-PSS key, which has no JWK form: refused, without quoting Node's message.
    throw new InvalidParameter(field, 'is a key that cannot be bound; use EC P-256, Ed25519 or RSA (2048+)')
  }
  const publicJwk = bindable(jwk, field)
  return { cnf: { jkt: jwkThumbprint(publicJwk) }, publicJwk }
}

function bindable(jwk: Record<string, string>, field: string): BindablePublicJwk {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && jwk.x && jwk.y)
    return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x) return { kty: 'OKP', crv: 'Ed25519', x: jwk.x }
  if (jwk.kty === 'RSA' && jwk.n && jwk.e) return { kty: 'RSA', n: jwk.n, e: jwk.e }
  throw new InvalidParameter(
    field,
    'is an EC key on a curve other than P-256; use P-256, Ed25519 or RSA (2048+)',
  )
}
