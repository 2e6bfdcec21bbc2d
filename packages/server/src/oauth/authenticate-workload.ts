import { DEFAULT_AUTHORIZATION_SERVER, PAM_AUDIENCE } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { RequestMeta } from '../audit/appender.js'
import { InvalidToken, type PamError } from '../errors.js'
import { type AuditFailure, auditBestEffort, shouldAuditFailure } from '../services/best-effort.js'
import type { PresentedToken } from '../services/bound-tokens/presented-token.js'
import { checkProof, type ProofTarget } from '../services/bound-tokens/proof-target.js'
import {
  requireLiveSession,
  SessionRefused,
  type SessionState,
} from '../services/bound-tokens/session-refused.js'
import type { Services, Workload } from '../services.js'
import { prepare } from '../store/prepared.js'
import type { Database } from '../store/schema.js'
import {
  type AccessTokenClaims,
  type VerifiedAccessToken,
  verifyAccessTokenExceptRevocation,
} from './access-tokens.js'
import { issuerOf } from './issuer.js'
import { BoundTokenRefused } from './proof-of-possession/dpop-challenge.js'
import { ProofRejected } from './proof-of-possession/proof-rejected.js'
import { expand, parseScope } from './scopes.js'

/**
 * Authenticates a workload calling the developer API: an access token of this instance's
 * authorization server, for the PAM audience, held by an application that exists and is enabled.
 *
 * A plain token comes as `Authorization: Bearer` and costs one statement, as it always has. A
 * token bound to a key (`cnf.jkt`) must come as `Authorization: DPoP` with a `DPoP` proof of this
 * request signed by that key (`target`; RFC 9449 §7.1): sent as `Bearer` it is refused, since a
 * downgrade would make a stolen bound token as good as a bearer one (§7.2). A token of a session
 * (`sid`: a session token, or a scoped token derived from one, whatever key it is bound to) is
 * refused once its session is revoked, ended by the revocation of the token that started it, or
 * over. A plain token sent with the DPoP scheme
 * is refused too, pointing to `Bearer`: a proof could add nothing to a token bound to no key, and
 * a client that believes its token bound should learn that it is not.
 *
 * Refusals: 401 `InvalidToken` saying why, with a `Bearer` challenge, or for a DPoP request a
 * `DPoP` one; `Proof…` and `Session…` codes for a refused proof or session. All audited (unless
 * `auditFailure: false`, for an address already throttled), none echoing the token or the proof.
 * An instance id with no chain is audited in the system chain (see `AuditBatch.append`).
 */
export async function authenticateWorkload(
  s: Services,
  instanceId: string,
  presented: PresentedToken | undefined,
  request: RequestMeta,
  target: ProofTarget,
  options: { auditFailure?: AuditFailure } = {},
): Promise<Workload> {
  const audited = async <E extends PamError>(why: string, error: E): Promise<E> => {
    // A throttled address's refusals are not audited one by one: one event marks the throttle.
    if (!(await shouldAuditFailure(options.auditFailure))) return error
    await auditBestEffort(s, {
      instanceId,
      actor: { type: 'anonymous', id: 'unknown' },
      action: 'pam.authenticate',
      outcome: 'failure',
      details: { why },
      request,
    })
    return error
  }
  const dpop = presented?.scheme === 'DPoP'
  const refuse = (why: string, challenge = dpop) =>
    audited(
      why,
      challenge
        ? new BoundTokenRefused(`the access token was refused: ${why}`)
        : new InvalidToken(`the bearer token was refused: ${why}`),
    )
  if (presented === undefined) throw await refuse('no bearer token')
  const token = presented.token
  let verified: VerifiedAccessToken
  try {
    verified = await verifyAccessTokenExceptRevocation(s, s.signingKeys, token, {
      instanceId,
      issuer: issuerOf(s, instanceId, DEFAULT_AUTHORIZATION_SERVER),
      audience: PAM_AUDIENCE,
    })
  } catch (err) {
    if (err instanceof InvalidToken) throw await refuse(err.message.replace(/^the access token /, ''))
    throw err
  }
  const { claims, kid } = verified
  const jkt = claims.cnf?.jkt
  if (jkt !== undefined)
    return authenticateBound(s, instanceId, presented, verified, jkt, target, refuse, audited)
  if (dpop) throw await refuse('is not bound to a key: send it as Authorization: Bearer')
  // Both read on every request, never cached: a revocation or a disabled application applies at
  // once on every node. One statement for the two (one round trip on PostgreSQL).
  const found = await revocationAndApplication.first(s.store, s.store.db, {
    jti: claims.jti,
    instanceId,
    clientId: claims.client_id,
  })
  if (!found) throw new Error('the one-row query returned no row')
  if (found.revoked !== null) throw await refuse('has been revoked')
  if (found.applicationId === null || found.applicationStatus !== 'enabled')
    throw await refuse('its application is disabled or gone')
  return {
    applicationId: found.applicationId,
    clientId: claims.client_id,
    scopes: scopesOf(claims),
    tokenId: claims.jti,
    claims,
    signingKid: kid,
  }
}

/**
 * The key-bound branch of `authenticateWorkload`: the scheme, the proof, then revocation,
 * application and session in one statement. The proof comes first so that whoever holds the
 * token without its key learns nothing of its state.
 */
async function authenticateBound(
  s: Services,
  instanceId: string,
  presented: PresentedToken,
  verified: VerifiedAccessToken,
  jkt: string,
  target: ProofTarget,
  refuse: (why: string, challenge?: boolean) => Promise<PamError>,
  audited: <E extends PamError>(why: string, error: E) => Promise<E>,
): Promise<Workload> {
  if (presented.scheme !== 'DPoP')
    throw await refuse('is bound to a key: send it as Authorization: DPoP <token> with a DPoP proof', true)
  try {
    await checkProof(s, instanceId, target, presented.token, jkt)
  } catch (err) {
    if (err instanceof ProofRejected) throw await audited(err.code, err)
    throw err
  }
  const { claims, kid } = verified
  const found = await tokenState(s, s.store.db, instanceId, claims, kid)
  if (found.revoked !== null) throw await refuse('has been revoked')
  if (found.applicationId === null || found.applicationStatus !== 'enabled')
    throw await refuse('its application is disabled or gone')
  if (claims.sid !== undefined) {
    try {
      // Not the session's key: a scoped token derived from a session token may be bound to
      // another. The `sid` is ours (the token's signature verified); its application must match.
      if (found.sessionApplicationId !== found.applicationId)
        throw new SessionRefused('SessionNotFound', 'the session of this token does not exist')
      requireLiveSession(sessionOf(found), s.now())
    } catch (err) {
      if (err instanceof SessionRefused) throw await audited(err.code, err)
      throw err
    }
  }
  // After the session's own checks: a token of a session whose start was revoked says so as
  // SessionRevoked; any other key-bound token, that its line's first token was revoked.
  if (found.parentRevoked !== null) throw await refuse('was derived from a token that has been revoked')
  return {
    applicationId: found.applicationId,
    clientId: claims.client_id,
    scopes: scopesOf(claims),
    tokenId: claims.jti,
    claims,
    signingKid: kid,
  }
}

/**
 * Inside the unit of work that answers an authenticated workload, after its instance's audit head
 * is held: whether the token, its application and its session are still what `authenticateWorkload`
 * found when the request arrived. That read ran before the unit, outside its transaction: a
 * revocation, a disabled application or an ended session committed in between (on this node's
 * previous batch, or on another node) was not seen, and the value was answered after the
 * revocation had been acknowledged, audited after it in the chain (found by a review racing the
 * two on PostgreSQL nodes). Held here, a revocation committed first is seen, and one committed
 * later waits for this batch and is chained after it. One indexed statement. Answers why the
 * workload no longer may, or null.
 */
export async function workloadRefusedSince(
  s: Services,
  trx: Kysely<Database>,
  instanceId: string,
  workload: Workload,
): Promise<string | null> {
  return tokenRefusedSince(s, trx, instanceId, workload)
}

/**
 * A token of this server as a unit re-reads it: its claims, and the signing key it verified with
 * (null for a caller that presented none, as an OCI request signature).
 */
export interface TokenInUnit {
  readonly claims: Readonly<AccessTokenClaims>
  readonly signingKid: string | null
}

/** `workloadRefusedSince` for any token of this server (a token exchange's subject, say). */
export async function tokenRefusedSince(
  s: Services,
  trx: Kysely<Database>,
  instanceId: string,
  token: TokenInUnit,
): Promise<string | null> {
  return refusedByState(s, token, await tokenState(s, trx, instanceId, token.claims, token.signingKid))
}

/**
 * `workloadRefusedSince`'s judgement of the token's state as read in the unit, by
 * `boundTokenState` or by a statement that selects its columns beside others (`withTokenState`):
 * why the workload no longer may, or null.
 */
export function refusedByState(s: Services, token: TokenInUnit, found: TokenState): string | null {
  const { claims } = token
  if (found.revoked !== null) return 'the access token has been revoked'
  // Its key revoked after the token was verified (this node's copy of the keys is refreshed each
  // second; a request verified before is in its unit now): refused from the revocation's commit on.
  if (token.signingKid !== null && found.keyRevoked !== null)
    return 'the access token was signed by a key that has been revoked'
  if (found.applicationId === null || found.applicationStatus !== 'enabled')
    return 'its application is disabled or gone'
  if (claims.pjti !== undefined && found.parentRevoked !== null)
    return 'the access token was derived from a token that has been revoked'
  if (claims.sid !== undefined) {
    try {
      requireLiveSession(sessionOf(found), s.now())
    } catch (err) {
      if (err instanceof SessionRefused) return err.message
      throw err
    }
  }
  return null
}

/** The parameters of `boundTokenState` (and of any statement built `withTokenState`) for a workload's token. */
export function tokenStateParams(instanceId: string, claims: AccessTokenClaims, kid: string | null) {
  return {
    kid: kid ?? '',
    jti: claims.jti,
    instanceId,
    clientId: claims.client_id,
    sessionId: claims.sid ?? '',
    parentJti: claims.pjti ?? '',
  }
}

/** `boundTokenState` for a token's claims, through `db` (the pool, or a unit's transaction). */
async function tokenState(
  s: Services,
  db: Kysely<Database>,
  instanceId: string,
  claims: AccessTokenClaims,
  kid: string | null,
) {
  const found = await boundTokenState.first(s.store, db, tokenStateParams(instanceId, claims, kid))
  if (!found) throw new Error('the one-row query returned no row')
  return found
}

/** What `requireLiveSession` judges, from `boundTokenState`'s row. */
function sessionOf(found: TokenState): SessionState {
  return {
    revoked: found.sessionRevoked,
    expiresAt: found.sessionExpiresAt,
    parentRevoked: found.sessionParentRevoked,
  }
}

/**
 * Whether the token is revoked (the same rule as `verifyAccessToken`) and the application holding
 * it, in one statement: a one-row source left-joined to both, so there is always exactly one row.
 */
const revocationAndApplication = prepare(['jti', 'instanceId', 'clientId'], (db, p) =>
  db
    .selectFrom(db.selectNoFrom((eb) => eb.lit(1).as('one')).as('one'))
    .leftJoin('applications as a', (join) =>
      join.on('a.instance_id', '=', p.instanceId).on('a.client_id', '=', p.clientId),
    )
    .leftJoin('revoked_access_tokens as r', (join) => join.on('r.jti', '=', p.jti))
    .select(['r.jti as revoked', 'a.id as applicationId', 'a.status as applicationStatus']),
)

type TokenStateParam = 'kid' | 'jti' | 'instanceId' | 'clientId' | 'sessionId' | 'parentJti'

/**
 * A one-row source left-joined to the token's revocation, its application, the revocation of the
 * token its line started from (`pjti`) and, for a token of a session, its session and whether the
 * token that started it was revoked; the columns `refusedByState` judges selected. A statement
 * may join more to it (authorize's grants, one row each, the state repeated on every row).
 */
export function withTokenState(db: Kysely<Database>, p: Record<TokenStateParam, never>) {
  return db
    .selectFrom(db.selectNoFrom((eb) => eb.lit(1).as('one')).as('one'))
    .leftJoin('applications as a', (join) =>
      join.on('a.instance_id', '=', p.instanceId).on('a.client_id', '=', p.clientId),
    )
    .leftJoin('revoked_access_tokens as r', (join) => join.on('r.jti', '=', p.jti))
    .leftJoin('revoked_access_tokens as rp', (join) => join.on('rp.jti', '=', p.parentJti))
    .leftJoin('token_sessions as ts', (join) =>
      join.on('ts.id', '=', p.sessionId).on('ts.instance_id', '=', p.instanceId),
    )
    .leftJoin('revoked_access_tokens as pr', 'pr.jti', 'ts.parent_jti')
    .leftJoin('signing_keys as sk', (join) =>
      join.on('sk.instance_id', '=', p.instanceId).on('sk.kid', '=', p.kid),
    )
    .select([
      'r.jti as revoked',
      'sk.revoked_at as keyRevoked',
      'rp.jti as parentRevoked',
      'a.id as applicationId',
      'a.status as applicationStatus',
      'ts.application_id as sessionApplicationId',
      'ts.revoked as sessionRevoked',
      'ts.expires_at as sessionExpiresAt',
      'pr.jti as sessionParentRevoked',
    ])
}

export const TOKEN_STATE_PARAMS: readonly TokenStateParam[] = [
  'kid',
  'jti',
  'instanceId',
  'clientId',
  'sessionId',
  'parentJti',
]

/** `revocationAndApplication` and the rest of the token's state (`withTokenState`): still one statement. */
const boundTokenState = prepare(TOKEN_STATE_PARAMS, (db, p) => withTokenState(db, p))

/** A token's state as `withTokenState` selects it. */
export type TokenState = NonNullable<Awaited<ReturnType<typeof boundTokenState.first>>>

/**
 * The token's scopes, `.all` expanded. Parsed once per token: a verified token's claims are one
 * frozen object for as long as it is remembered (oauth/access-tokens.ts).
 */
const scopeSets = new WeakMap<object, ReadonlySet<string>>()
function scopesOf(claims: AccessTokenClaims): ReadonlySet<string> {
  let scopes = scopeSets.get(claims)
  if (!scopes) {
    scopes = expand(parseScope(`${claims.aud}|${claims.scope}`))
    scopeSets.set(claims, scopes)
  }
  return scopes
}
