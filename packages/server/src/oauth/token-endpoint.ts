import type { TokenResponse } from '@strongroom/protocol'
import { type Kysely, sql } from 'kysely'
import type { RequestMeta } from '../audit/appender.js'
import { echo, OAuthError } from '../errors.js'
import { isSafeString } from '../http/json-body.js'
import {
  type AddressThrottle,
  type ClientThrottle,
  type FailureReservation,
  reserveFailure,
} from '../http/shared-failure-throttle.js'
import { auditBestEffort } from '../services/best-effort.js'
import type { Services } from '../services.js'
import { prepare } from '../store/prepared.js'
import type { ApplicationTable, Database } from '../store/schema.js'
import { mintAccessToken } from './access-tokens.js'
import { type TokenInUnit, tokenRefusedSince } from './authenticate-workload.js'
import { presentedCredentials, UnreadableAssertion, verifyClient } from './client-auth.js'
import { issuerOf, requireAuthorizationServer } from './issuer.js'
import { formatScope, grantScope, ScopeError } from './scopes.js'
import { exchangeToken, TOKEN_EXCHANGE } from './token-exchange.js'

export const CLIENT_CREDENTIALS = 'client_credentials'
const CLIENT_THROTTLED = 'too many failed client authentications; retry later'

export interface TokenRequest {
  instanceId: string
  authorizationServerId: string
  /** The request's parameters, query string and form body merged (the body wins). */
  params: Map<string, string>
  authorization: string | undefined
  request: RequestMeta
}

export interface TokenThrottles {
  /**
   * Failed client authentications per source address (shared by the nodes on PostgreSQL): an
   * exhausted address is refused before any lookup, verification or audit write.
   */
  perAddress: ClientThrottle
  /**
   * Failed client authentications per client id (shared by the nodes on PostgreSQL). A client id
   * is no secret, so anyone could spend this budget: it is asked only once the credentials have
   * failed, and refuses only failures. A client whose credentials verify is served whatever was
   * done with its id, and that costs this budget nothing, not even a read.
   */
  perClient: AddressThrottle
}

/**
 * `POST …/oauth2/token`: authenticates the client, checks the grant and the scope, mints an
 * access token. Failed authentications are throttled per address and per client id and
 * audited; every issued token is audited with its client, method, scope and jti, never itself.
 */
export async function handleTokenRequest(
  s: Services,
  throttles: TokenThrottles,
  req: TokenRequest,
): Promise<TokenResponse> {
  await requireAuthorizationServer(s, req.instanceId, req.authorizationServerId)
  const reservation = await reserveFailure(
    throttles.perAddress,
    req.request.sourceIp ?? 'unknown',
    CLIENT_THROTTLED,
  )
  let app: Awaited<ReturnType<typeof authenticateClient>>
  try {
    const grantType = req.params.get('grant_type')
    if (grantType === undefined) throw new OAuthError('InvalidParameter', 'grant_type is required')
    if (grantType !== CLIENT_CREDENTIALS && grantType !== TOKEN_EXCHANGE) {
      throw new OAuthError(
        'UnsupportedGrantType',
        `grant_type ${echo(grantType)} is not supported; use ${CLIENT_CREDENTIALS} or ${TOKEN_EXCHANGE}`,
      )
    }
    app = await authenticateClient(s, throttles, req, 'oauth.token', 'token', { reservation })
  } finally {
    // Spent only by a failed client authentication (`failed`, which settles it first).
    reservation.refund()
  }
  const grantType = req.params.get('grant_type')!
  const actor = { type: 'application', id: app.id } as const
  const event = {
    instanceId: req.instanceId,
    action: 'oauth.token',
    request: req.request,
    actor,
    resource: { type: 'application', id: app.id },
  }
  let issued: IssuedToken
  try {
    issued =
      grantType === TOKEN_EXCHANGE ? await exchangeToken(s, req, app) : await clientCredentials(s, req, app)
  } catch (err) {
    if (err instanceof OAuthError) {
      await auditBestEffort(s, { ...event, outcome: 'denied', details: { grantType, why: err.message } })
    }
    throw err
  }
  // Fail closed like a secret read: no token leaves without its audit event on disk.
  const clientSecretId = app.clientSecretId
  const refusal = await s.committer.run(async ({ trx, audit }): Promise<OAuthError | null> => {
    // Under the instance's audit head, which a revocation or a disabling holds too: one that
    // committed first is seen here (and the token refused), a later one is chained after this.
    await audit.hold(req.instanceId)
    // The application was read when the client authenticated, before this unit: disabled since
    // (on another node, say), it gets no token, as its tokens are refused from then on.
    const application = await applicationStatus.first(s.store, trx, { applicationId: app.id })
    if (application?.status !== 'enabled') {
      const why = 'the application was disabled while the token was issued'
      await audit.append({ ...event, outcome: 'denied', details: { grantType, why } })
      return clientRefused()
    }
    // A token exchanged, checked as the request arrived: revoked since (or its application
    // disabled, or its key revoked), it is exchanged for nothing, as it would be refused now.
    for (const token of issued.recheck ?? []) {
      const why = await tokenRefusedSince(s, trx, req.instanceId, token)
      if (why === null) continue
      const refused = `a token exchanged is no longer active: ${why}`
      await audit.append({ ...event, outcome: 'denied', details: { grantType, why: refused } })
      return new OAuthError('InvalidGrant', refused)
    }
    // The registered key that signed the client assertion, or the federated credential that
    // accepted it, removed since it was verified (on another node, say): no token, as none is
    // issued with it from the removal's commit on.
    const removed = await authenticatorRemoved(s, trx, app)
    if (removed !== null) {
      await audit.append({ ...event, outcome: 'denied', details: { grantType, ...removed } })
      return clientRefused()
    }
    // Recorded so that revoking the secret can revoke the tokens it obtained (`revokeTokens`).
    if (clientSecretId !== null) {
      const recorded = await recordSecretToken.first(s.store, trx, {
        jti: issued.audit.jti,
        clientSecretId,
        expiresAt: issued.audit.exp * 1000,
      })
      if (!recorded) {
        const why = 'the client secret was revoked while the token was issued'
        await audit.append({ ...event, outcome: 'denied', details: { grantType, why, clientSecretId } })
        return clientRefused()
      }
    }
    await audit.append({
      ...event,
      outcome: 'success',
      details: {
        method: app.authMethod,
        grantType,
        ...issued.audit,
        ...(clientSecretId !== null ? { clientSecretId } : {}),
      },
    })
    return null
  })
  if (refusal) throw refusal
  return issued.response
}

/** A client as the token endpoint authenticated it, with what authenticated it. */
type AuthenticatedClient = ApplicationTable & {
  authMethod: string
  /** The client secret that did (client_secret_post, _basic, _jwt), or null. */
  clientSecretId: string | null
  /** The registered key whose signature did (private_key_jwt), or null. */
  applicationKeyId: string | null
  /** The federated credential that accepted the external token (federated_oidc), or null. */
  federatedCredentialId: string | null
}

/** The answer to a client disabled, or whose secret was revoked, while its token was issued. */
const clientRefused = () => new OAuthError('InvalidClient', 'client authentication failed')

/** What a grant issued: the response, and the audit details that say what it was (never the token). */
export interface IssuedToken {
  response: TokenResponse
  /** Tokens of this server the grant was made on (a token exchange's subject and actor): read again in the issuing unit. */
  recheck?: readonly TokenInUnit[]
  audit: Record<string, string | number | null> & { jti: string; exp: number }
}

/** The application's status as committed now (read in the issuing unit, under the audit head). */
const applicationStatus = prepare(['applicationId'], (db, p) =>
  db.selectFrom('applications').select('status').where('id', '=', p.applicationId),
)

/** Whether a registered application key is still there (read in the issuing unit). */
const applicationKeyStill = prepare(['id'], (db, p) =>
  db.selectFrom('application_keys').select('id').where('id', '=', p.id),
)

/** Whether a federated credential is still there (read in the issuing unit). */
const federatedCredentialStill = prepare(['id'], (db, p) =>
  db.selectFrom('federated_credentials').select('id').where('id', '=', p.id),
)

/**
 * Why the key or federated credential the client authenticated with no longer may (the audit's
 * details), or null: read in the issuing unit, under the instance's chain head, which their
 * removal holds too.
 */
async function authenticatorRemoved(
  s: Services,
  trx: Kysely<Database>,
  app: AuthenticatedClient,
): Promise<Record<string, string> | null> {
  if (app.applicationKeyId !== null) {
    const key = await applicationKeyStill.first(s.store, trx, { id: app.applicationKeyId })
    if (!key)
      return {
        why: 'the key that signed the client assertion was removed while the token was issued',
        applicationKeyId: app.applicationKeyId,
      }
  }
  if (app.federatedCredentialId !== null) {
    const fc = await federatedCredentialStill.first(s.store, trx, { id: app.federatedCredentialId })
    if (!fc)
      return {
        why: 'the federated credential that accepted the token was removed while the token was issued',
        federatedCredentialId: app.federatedCredentialId,
      }
  }
  return null
}

/**
 * Records which secret obtained the token, only while that secret is not revoked: one statement,
 * that returns nothing when the secret was revoked after the client authenticated with it.
 */
const recordSecretToken = prepare(['jti', 'clientSecretId', 'expiresAt'], (db, p, dialect) =>
  db
    .insertInto('client_secret_tokens')
    .columns(['jti', 'instance_id', 'client_secret_id', 'expires_at'])
    .expression(
      db
        .selectFrom('client_secrets')
        .select([
          sql<string>`cast(${p.jti} as text)`.as('jti'),
          'instance_id',
          'id',
          sql<number>`cast(${p.expiresAt} as ${sql.raw(dialect === 'postgres' ? 'bigint' : 'integer')})`.as(
            'expires_at',
          ),
        ])
        .where('id', '=', p.clientSecretId)
        .where('revoked_at', 'is', null),
    )
    .returning('jti'),
)

/** RFC 6749 §4.4: a token for the client itself, with what it asked for within what it may have. */
async function clientCredentials(
  s: Services,
  req: TokenRequest,
  app: ApplicationTable,
): Promise<IssuedToken> {
  let scope: ReturnType<typeof grantScope>
  try {
    scope = grantScope(req.params.get('scope'), app.allowed_scopes)
  } catch (err) {
    if (err instanceof ScopeError) throw new OAuthError('InvalidScope', err.message)
    throw err
  }
  const { token, claims } = await mintAccessToken(s.signingKeys, s.now(), {
    instanceId: req.instanceId,
    issuer: issuerOf(s, req.instanceId, req.authorizationServerId),
    subject: app.id,
    clientId: app.client_id,
    scope,
    lifetimeSeconds: app.access_token_lifetime,
  })
  return {
    response: {
      access_token: token,
      token_type: 'Bearer',
      expires_in: claims.exp - claims.iat,
      expires_at: claims.exp,
      scope: formatScope(scope),
    },
    audit: { scope: formatScope(scope), jti: claims.jti, exp: claims.exp },
  }
}

/**
 * Authenticates the client of an OAuth request (token, introspection, revocation): one method,
 * throttled per address and per client id, a failure audited as `action` and answered with the
 * same 401 `invalid_client` whatever went wrong. The address's budget is reserved before any work
 * (`reservation`: the caller's, when it reserved already), so attempts in flight together cannot
 * all pass it; a failure keeps its reservation, anything else gives it back. A client id's budget
 * refuses (429) only requests whose credentials fail, so no one can lock a client out by knowing
 * its id.
 */
export async function authenticateClient(
  s: Services,
  throttles: TokenThrottles,
  req: TokenRequest,
  action: string,
  endpoint: 'token' | 'introspect' | 'revoke',
  options: { reservation?: FailureReservation } = {},
): Promise<AuthenticatedClient> {
  const reservation =
    options.reservation ??
    (await reserveFailure(throttles.perAddress, req.request.sourceIp ?? 'unknown', CLIENT_THROTTLED))
  try {
    return await authenticateReserved(s, throttles, req, action, endpoint, reservation)
  } finally {
    reservation.refund()
  }
}

async function authenticateReserved(
  s: Services,
  throttles: TokenThrottles,
  req: TokenRequest,
  action: string,
  endpoint: 'token' | 'introspect' | 'revoke',
  reservation: FailureReservation,
): Promise<AuthenticatedClient> {
  const fail = async (
    clientId: string,
    method: string,
    why: string,
    detail: string | null,
    applicationId?: string,
  ): Promise<unknown> => {
    // The address's failure was reserved before the work: it stands now.
    await reservation.failed()
    try {
      // Spends one of the client id's failures, or refuses (429) when none is left. Counted before
      // the audit: a failure past the client id's budget is not audited one by one (the one that
      // exhausted it stands for them), however many arrive at once.
      await throttles.perClient.countFailure(clientId, CLIENT_THROTTLED)
    } catch (err) {
      return err
    }
    const answer = new OAuthError('InvalidClient', 'client authentication failed')
    await auditBestEffort(s, {
      instanceId: req.instanceId,
      action,
      request: req.request,
      actor: { type: 'anonymous', id: clientId.slice(0, 128) },
      ...(applicationId ? { resource: { type: 'application', id: applicationId } } : {}),
      outcome: 'failure',
      details: { method, why, detail },
    })
    return answer
  }
  let credentials: ReturnType<typeof presentedCredentials>
  try {
    credentials = presentedCredentials(req.params, req.authorization)
  } catch (err) {
    // A credential refused before any lookup (an unparsable or unsigned assertion) still counts.
    if (err instanceof UnreadableAssertion) {
      throw await fail(
        req.params.get('client_id') ?? 'unknown',
        'client_assertion',
        'malformed_assertion',
        null,
      )
    }
    throw err
  }
  // A client id no application can have (a NUL or a lone surrogate, through a Basic header's
  // percent-encoding or an assertion's `iss`, which the form's own check does not see): a failed
  // authentication like any other, counted and audited under a printable form of it. Looked up,
  // PostgreSQL refused the statement, a 500 neither audited nor throttled (found by a review).
  if (!isSafeString(credentials.clientId)) {
    throw await fail(printable(credentials.clientId), credentials.method, 'malformed_client_id', null)
  }
  // RFC 7523 §3: the assertion's audience is the authorization server: its issuer or the endpoint.
  const issuer = issuerOf(s, req.instanceId, req.authorizationServerId)
  const audiences = [issuer, `${issuer}/oauth2/token`, `${issuer}/oauth2/${endpoint}`]
  const verdict = await verifyClient(s, s.store.db, req.instanceId, credentials, audiences)
  if ('failure' in verdict) {
    throw await fail(
      credentials.clientId,
      credentials.method,
      verdict.failure,
      verdict.detail ?? null,
      verdict.application?.id,
    )
  }
  return {
    ...verdict.application,
    authMethod: credentials.method,
    clientSecretId: verdict.clientSecretId ?? null,
    applicationKeyId: verdict.applicationKeyId ?? null,
    federatedCredentialId: verdict.federatedCredentialId ?? null,
  }
}

/** A client id as it may be audited: NUL and lone surrogates made U+FFFD. */
function printable(clientId: string): string {
  return clientId.toWellFormed().replaceAll('\0', '\uFFFD')
}
