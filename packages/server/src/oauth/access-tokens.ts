import { createHash, sign, verify } from 'node:crypto'
import { randomBase64url } from '../crypto/random-pool.js'
import { InvalidToken } from '../errors.js'
import { CacheStats } from '../metrics/cache-stats.js'
import type { Services } from '../services.js'
import { prepare } from '../store/prepared.js'
import type { ScopeSet } from './scopes.js'
import type { LoadedKey, SigningKeys } from './signing-keys.js'

/** The claims of a strongroom access token (RFC 9068, plus the instance). */
export interface AccessTokenClaims {
  iss: string
  sub: string
  aud: string
  scope: string
  client_id: string
  jti: string
  iat: number
  exp: number
  instance_id: string
  /** RFC 8693 §4.1: who acts on the subject's behalf, for tokens issued by token exchange. */
  act?: { sub: string; iss?: string }
  /** The issuer of an external subject (a federated OIDC token exchanged for ours). */
  subject_issuer?: string
  /**
   * The key the token is bound to (RFC 7800 §3.1): its RFC 7638 thumbprint. Such a token is
   * accepted only as `Authorization: DPoP` with a proof signed by that key (RFC 9449 §6.1, §7).
   */
  cnf?: { jkt: string }
  /**
   * The session the token belongs to (`token_sessions.id`): it is refused once the session ends or
   * is revoked. A session's own tokens carry it, and so do scoped tokens derived from them.
   */
  sid?: string
  /**
   * On a key-bound token (scoped or session): the `jti` of the plain token it was first derived
   * from (or, for one issued from an OCI-signed request, the id of the API key that signed). It is
   * refused once that is revoked, as the token it derives from would be: revoking a stolen bearer
   * token must not leave the key-bound copy its thief made working.
   */
  pjti?: string
  /**
   * Set on a scoped token (`scopedTokens/_/actions/issue`): it is never a session's own token,
   * even when it carries the `sid` of the session it was derived from, so it cannot refresh or
   * revoke that session.
   */
  scoped?: true
}

const TYP = 'at+jwt'
/** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. */
const LEEWAY_S = 10

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Signs with `node:crypto` on the hot path: EdDSA (Ed25519) or ES256 in JOSE's raw r‖s form. */
async function signJws(key: LoadedKey, header: object, payload: object): Promise<string> {
  const input = `${b64(header)}.${b64(payload)}`
  const privateKey = await key.privateKey()
  const signature =
    key.alg === 'EdDSA'
      ? sign(null, Buffer.from(input), privateKey)
      : sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

export interface MintInput {
  instanceId: string
  issuer: string
  /** The token's `sub`: the application itself, or the subject of an exchanged token. */
  subject: string
  clientId: string
  scope: ScopeSet
  lifetimeSeconds: number
  act?: { sub: string; iss?: string }
  subjectIssuer?: string
  /** Binds the token to a key (`cnf.jkt`, RFC 9449 §6.1). */
  cnf?: { jkt: string }
  /** The session of a session token, or of the session token a scoped token derives from. */
  sessionId?: string
  /** Marks a scoped token (`scoped: true`). */
  scoped?: boolean
  /** The `jti` of the token a key-bound token derives from, first in its line (`pjti`). */
  parentJti?: string
}

/** Mints an access token with the instance's active key. */
export async function mintAccessToken(
  keys: SigningKeys,
  now: number,
  input: MintInput,
): Promise<{ token: string; claims: AccessTokenClaims }> {
  const key = await keys.active(input.instanceId)
  const iat = Math.floor(now / 1000)
  const claims: AccessTokenClaims = {
    iss: input.issuer,
    sub: input.subject,
    aud: input.scope.audience,
    scope: input.scope.values.join(' '),
    client_id: input.clientId,
    jti: randomBase64url(16),
    iat,
    exp: iat + input.lifetimeSeconds,
    instance_id: input.instanceId,
    ...(input.act ? { act: input.act } : {}),
    ...(input.subjectIssuer ? { subject_issuer: input.subjectIssuer } : {}),
    ...(input.cnf ? { cnf: { jkt: input.cnf.jkt } } : {}),
    ...(input.sessionId ? { sid: input.sessionId } : {}),
    ...(input.scoped ? { scoped: true as const } : {}),
    ...(input.parentJti ? { pjti: input.parentJti } : {}),
  }
  const token = await signJws(key, { alg: key.alg, typ: TYP, kid: key.kid }, claims)
  return { token, claims }
}

export interface VerifyOptions {
  instanceId: string
  issuer: string
  /** When given, `aud` must equal it. */
  audience?: string
  /**
   * Accept a token past its `exp` (everything else still checked). Only for renewing a session
   * token, whose session's own end, checked by the caller, bounds how late that may be.
   */
  acceptExpired?: boolean
}

/**
 * The one verifier the rest of the server uses for bearer access tokens (RFC 8725 discipline):
 * the algorithm comes from our key, never from the token; `typ` must be `at+jwt`; the `kid` must
 * be a published key of the instance; `iss`, `aud`, `exp`, `nbf` and `iat` are checked with a
 * small leeway; and a revoked token is refused on every node at once (the revocation list is read,
 * not cached). Every failure is the same `InvalidToken`, saying what was wrong, never the token.
 *
 * The signature check (≈ 50 µs of CPU for EdDSA) is done once per token: a token whose signature
 * verified is remembered by its SHA-256 until it expires (see `VerifiedTokens`). Everything else
 * is checked on every call: that its key is still published for this instance, the claims
 * against the clock and the options, and the revocation list.
 */
export async function verifyAccessToken(
  s: Pick<Services, 'store' | 'now'>,
  keys: SigningKeys,
  token: string,
  options: VerifyOptions,
): Promise<AccessTokenClaims> {
  const { claims } = await verifyAccessTokenExceptRevocation(s, keys, token, options)
  const revoked = await revokedToken.first(s.store, s.store.db, {
    jti: claims.jti,
    parent: claims.pjti ?? claims.jti,
  })
  if (revoked) {
    throw new InvalidToken(
      revoked.jti === claims.jti
        ? 'the access token has been revoked'
        : 'the access token it was derived from has been revoked',
    )
  }
  return claims
}

/** An access token that verified: its claims, and the instance's signing key (`kid`) it verified with. */
export interface VerifiedAccessToken {
  claims: AccessTokenClaims
  /**
   * What a unit of work re-reads with the token's revocation (oauth/authenticate-workload.ts): a
   * key revoked after the token was verified here refuses it from the revocation's commit on.
   */
  kid: string
}

/**
 * `verifyAccessToken` but for the revocation list, which the caller MUST read itself, on every
 * call: the developer API reads it in the same query as the calling application
 * (oauth/authenticate-workload.ts), one statement per request instead of two.
 */
export async function verifyAccessTokenExceptRevocation(
  s: Pick<Services, 'now'>,
  keys: SigningKeys,
  token: string,
  options: VerifyOptions,
): Promise<VerifiedAccessToken> {
  const cache = verifiedTokensOf(keys)
  const digest = createHash('sha256').update(token).digest('base64url')
  const nowMs = s.now()
  let verified = cache.get(digest, nowMs)
  if (verified) {
    cache.stats.hits++
    // The header was checked when the signature was; the key must still be one of this instance's.
    const key = await keys.published(options.instanceId, verified.kid)
    if (!key || key.alg !== verified.alg)
      throw new InvalidToken('the access token was not signed by a key of this instance')
  } else {
    cache.stats.misses++
    verified = await verifySignature(keys, token, options.instanceId)
    cache.add(digest, verified, nowMs)
  }
  const claims = verified.claims
  const now = Math.floor(nowMs / 1000)
  if (claims.iss !== options.issuer || claims.instance_id !== options.instanceId) {
    throw new InvalidToken('the access token was issued for another issuer')
  }
  if (options.audience !== undefined && claims.aud !== options.audience) {
    throw new InvalidToken('the access token is for another audience')
  }
  if (typeof claims.exp !== 'number' || (claims.exp + LEEWAY_S <= now && options.acceptExpired !== true))
    throw new InvalidToken('the access token has expired')
  if (typeof claims.iat !== 'number' || claims.iat - LEEWAY_S > now)
    throw new InvalidToken('the access token is not valid yet')
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf - LEEWAY_S > now)) {
    throw new InvalidToken('the access token is not valid yet')
  }
  if (typeof claims.jti !== 'string' || typeof claims.sub !== 'string' || typeof claims.scope !== 'string') {
    throw new InvalidToken('the access token lacks required claims')
  }
  if (claims.cnf !== undefined && (typeof claims.cnf !== 'object' || typeof claims.cnf?.jkt !== 'string'))
    throw new InvalidToken('the access token has a malformed cnf claim')
  if (claims.sid !== undefined && typeof claims.sid !== 'string')
    throw new InvalidToken('the access token has a malformed sid claim')
  return { claims: claims as AccessTokenClaims, kid: verified.kid }
}

/** The token's own revocation, or its parent's (`pjti`; the token's own jti again when it has none). */
const revokedToken = prepare(['jti', 'parent'], (db, p) =>
  db
    .selectFrom('revoked_access_tokens')
    .select('jti')
    .where((eb) => eb.or([eb('jti', '=', p.jti), eb('jti', '=', p.parent)]))
    .limit(1),
)

type UncheckedClaims = Readonly<Partial<AccessTokenClaims> & { nbf?: unknown }>

/** A token whose signature verified with the key `kid` of the instance; its claims not yet checked. */
interface VerifiedSignature {
  kid: string
  alg: string
  claims: UncheckedClaims
}

/** Parses the token, checks its header and verifies its signature with a published key of the instance. */
async function verifySignature(
  keys: SigningKeys,
  token: string,
  instanceId: string,
): Promise<VerifiedSignature> {
  const parts = token.split('.')
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)))
    throw new InvalidToken('the access token is not a JWS')
  const [h, p, sig] = parts as [string, string, string]
  const header = decodeJson(h) as { alg?: unknown; typ?: unknown; kid?: unknown; crit?: unknown }
  if (typeof header.typ !== 'string' || !/^(application\/)?at\+jwt$/i.test(header.typ)) {
    throw new InvalidToken('the token is not an access token (typ)')
  }
  if (header.crit !== undefined) throw new InvalidToken('the access token has unsupported critical headers')
  if (typeof header.kid !== 'string') throw new InvalidToken('the access token names no key')
  const key = await keys.published(instanceId, header.kid)
  if (!key || header.alg !== key.alg)
    throw new InvalidToken('the access token was not signed by a key of this instance')
  const input = Buffer.from(`${h}.${p}`)
  const signature = Buffer.from(sig, 'base64url')
  const valid =
    key.alg === 'EdDSA'
      ? verify(null, input, key.publicKey, signature)
      : verify('sha256', input, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature)
  if (!valid) throw new InvalidToken('the access token signature does not verify')
  // Frozen: the same claims object is handed to every later caller presenting this token.
  const claims = decodeJson(p) as UncheckedClaims
  deepFreeze(claims)
  return { kid: key.kid, alg: key.alg, claims }
}

function deepFreeze(value: object): void {
  for (const v of Object.values(value)) if (typeof v === 'object' && v !== null) deepFreeze(v)
  Object.freeze(value)
}

/** Most verified tokens a node remembers; beyond it the oldest are forgotten (and verified again). */
const MAX_VERIFIED_TOKENS = 10_000

/**
 * Tokens whose signature verified, by the SHA-256 of the token (the token itself is not kept),
 * each until its `exp` (plus the leeway): a bearer token verified once is cached by its hash
 * until expiry, its revocation still checked on every request (docs/security-model.md). Only a token whose signature verified gets
 * in, so nobody can fill it without holding tokens we signed; it is bounded all the same.
 * One per `SigningKeys`, that is per server.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, VerifiedSignature & { forgetAtS: number }>()
  /** A miss verifies a signature. */
  readonly stats = new CacheStats()

  get(digest: string, nowMs: number): VerifiedSignature | undefined {
    const entry = this.entries.get(digest)
    if (entry && entry.forgetAtS * 1000 <= nowMs) {
      this.entries.delete(digest)
      return undefined
    }
    return entry
  }

  add(digest: string, verified: VerifiedSignature, nowMs: number): void {
    const exp = verified.claims.exp
    // A token without a numeric exp is refused by the claim checks; no use remembering it.
    if (typeof exp !== 'number') return
    if (this.entries.size >= MAX_VERIFIED_TOKENS) this.evict(nowMs)
    this.entries.set(digest, { ...verified, forgetAtS: exp + LEEWAY_S })
  }

  /** Drops the expired entries, then the oldest (insertion order) until there is room. */
  private evict(nowMs: number): void {
    const nowS = nowMs / 1000
    for (const [digest, entry] of this.entries) if (entry.forgetAtS <= nowS) this.entries.delete(digest)
    for (const digest of this.entries.keys()) {
      if (this.entries.size < MAX_VERIFIED_TOKENS) break
      this.entries.delete(digest)
    }
  }
}

const verifiedTokens = new WeakMap<SigningKeys, VerifiedTokens>()

/** Hits and misses of the verified-token cache of one server (its `SigningKeys`), for the metrics. */
export function verifiedTokenCacheStats(keys: SigningKeys): CacheStats {
  return verifiedTokensOf(keys).stats
}

function verifiedTokensOf(keys: SigningKeys): VerifiedTokens {
  let cache = verifiedTokens.get(keys)
  if (!cache) {
    cache = new VerifiedTokens()
    verifiedTokens.set(keys, cache)
  }
  return cache
}

function decodeJson(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>
  } catch {
    // fall through
  }
  throw new InvalidToken('the access token is malformed')
}
