import type {
  AuthenticationTokenPage,
  ConsumerActionBody,
  JwtTokenResult,
  ListAuthenticationTokensQuery,
  ObtainJwtBody,
} from '@strongroom/protocol'
import { SECRET_PREFIX } from '../../crypto/minted-secret.js'
import { IntegrityError, NotFound, PamError } from '../../errors.js'
import type { Caller, Services, Workload } from '../../services.js'
import type { AuthenticationTokenTable } from '../../store/schema.js'
import { type AuditedUnit, auditedOperation, Refusal } from '../audited-operation.js'
import { refuseWithoutScope } from '../grants/authorize.js'
import { requireInstance } from '../instances/instances.js'
import { authorizeProvider } from '../providers/provider-access.js'
import { findProvider } from '../providers/providers.js'
import { setTokensRevoked } from './token-counts.js'
import {
  findTokenRecord,
  openJwt,
  pageOfTokens,
  signatureVerifies,
  toAuthenticationToken,
} from './token-records.js'

type WorkloadCaller = Caller & { workload: Workload }

const tokenNotFound = () =>
  new NotFound(
    'AuthenticationTokenNotFound',
    'no such authentication token (or not one this application may see)',
  )

/**
 * Tokens are the calling application's own: it consumed and created every one it may see. A
 * consumerId may be given as the application id or as its client id.
 */
function isCaller(workload: Workload, consumerId: string): boolean {
  return consumerId === workload.applicationId || consumerId === workload.clientId
}

async function refuseOtherConsumer(unit: AuditedUnit, consumerId: string) {
  return unit.refuse(
    new PamError(
      'PermissionDenied',
      'an application may only see and manage the authentication tokens it consumes',
      { field: 'consumerId', rule: 'must be the calling application' },
    ),
    'other_consumer',
    { consumerId },
  )
}

/** The JWT inside a record, or a refusal when it no longer decrypts under its binding. */
async function jwtOf(
  s: Services,
  unit: AuditedUnit,
  row: AuthenticationTokenTable,
): Promise<string | Refusal> {
  try {
    return await openJwt(s, unit.trx, row)
  } catch (err) {
    if (err instanceof IntegrityError) return unit.fail(err, 'integrity', { authenticationTokenId: row.id })
    throw err
  }
}

/** ObtainJwtAuthenticationToken: a recorded JWT by consumer and token id (scope `authentication_token:obtain`, a `read` grant). */
export async function obtainJwt(
  s: Services,
  caller: WorkloadCaller,
  instanceId: string,
  body: ObtainJwtBody,
): Promise<JwtTokenResult> {
  return auditedOperation(
    s,
    caller,
    {
      instanceId,
      action: 'authentication_token.obtain_jwt',
      details: { authenticationTokenId: body.authenticationTokenId },
    },
    async (unit) => {
      const unscoped = await refuseWithoutScope(unit, caller.workload, ['authentication_token:obtain'])
      if (unscoped) return unscoped
      // Before the lookup: a foreign consumerId is refused whether or not the token exists.
      if (!isCaller(caller.workload, body.consumerId)) return refuseOtherConsumer(unit, body.consumerId)
      const row = await unit.trx
        .selectFrom('authentication_tokens')
        .selectAll()
        .where('id', '=', body.authenticationTokenId)
        .where('instance_id', '=', instanceId)
        .executeTakeFirst()
      if (row?.type !== 'jwt') return unit.refuse(tokenNotFound(), 'not_found')
      // Another application's token is not there for this caller: the same 404, before its
      // provider's grant is asked, whose refusal would say the token exists (and name the provider).
      if (row.consumer_id !== caller.workload.applicationId)
        return unit.refuse(tokenNotFound(), 'other_consumer')
      const provider = await authorizeProvider(unit, caller.workload, instanceId, row.provider_id, 'read', {
        allowDisabled: true,
      })
      if (provider instanceof Refusal) return provider
      unit.about({ type: 'authentication_token', id: row.id })
      const jwt = await jwtOf(s, unit, row)
      if (jwt instanceof Refusal) return jwt
      await unit.succeed({ credentialProvider: provider.identifier })
      return { ...toAuthenticationToken(row), jwtContent: { jwtValue: jwt } }
    },
  )
}

/**
 * ObtainJwtAuthenticationTokenByDerivedShortToken: the short token is the credential (the
 * official clients send no Authorization header). A revoked or expired token is refused.
 */
export async function obtainJwtByDerivedShortToken(
  s: Services,
  caller: Caller,
  instanceId: string,
  shortToken: string,
): Promise<JwtTokenResult> {
  // The instance is named by the path only: it must exist before anything is recorded in its chain.
  await requireInstance(s.store.db, caller, instanceId)
  return auditedOperation(
    s,
    caller,
    { instanceId, action: 'authentication_token.obtain_jwt_by_derived_short_token' },
    async (unit) => {
      const row = await findTokenRecord(s, unit.trx, instanceId, shortToken)
      if (!row || row.short_token_hash === null) return unit.refuse(tokenNotFound(), 'not_found')
      unit.about({ type: 'authentication_token', id: row.id })
      if (Number(row.revoked) === 1) {
        return unit.refuse(
          new PamError('AuthenticationTokenRevoked', 'the authentication token has been revoked'),
          'revoked',
        )
      }
      if (Number(row.expires_at) <= s.now()) {
        return unit.refuse(
          new PamError('AuthenticationTokenExpired', 'the authentication token has expired'),
          'expired',
        )
      }
      const jwt = await jwtOf(s, unit, row)
      if (jwt instanceof Refusal) return jwt
      await unit.succeed({ consumerId: row.consumer_id, credentialProviderId: row.provider_id })
      return { ...toAuthenticationToken(row), jwtContent: { jwtValue: jwt, derivedShortToken: shortToken } }
    },
  )
}

/**
 * ValidateAuthenticationToken: active iff the JWT (or the derived short token's JWT) is recorded,
 * not revoked, not expired, and verifies under its provider's key. Unauthenticated, as the
 * official clients call it; the route limits it per source address.
 */
export async function validateToken(
  s: Services,
  caller: Caller,
  instanceId: string,
  token: string,
): Promise<{ active: boolean }> {
  // The instance is named by the path only: it must exist before anything is recorded in its chain.
  await requireInstance(s.store.db, caller, instanceId)
  return auditedOperation(
    s,
    caller,
    { instanceId, action: 'authentication_token.validate' },
    async (unit) => {
      const inactive = async (why: string) => {
        await unit.succeed({ active: false, why })
        return { active: false }
      }
      const row = await findTokenRecord(s, unit.trx, instanceId, token)
      if (!row) return inactive('unknown')
      unit.about({ type: 'authentication_token', id: row.id })
      if (Number(row.revoked) === 1) return inactive('revoked')
      if (Number(row.expires_at) <= s.now()) return inactive('expired')
      const provider = await findProvider(unit.trx, instanceId, row.provider_id)
      if (!provider) return inactive('provider_gone')
      let jwt = token
      if (row.short_token_hash !== null && token.startsWith(SECRET_PREFIX.derivedShortToken)) {
        const opened = await jwtOf(s, unit, row)
        if (opened instanceof Refusal) return inactive('integrity')
        jwt = opened
      }
      if (!signatureVerifies(s, provider, jwt)) return inactive('signature')
      await unit.succeed({ active: true, credentialProviderId: provider.id })
      return { active: true }
    },
  )
}

/**
 * RevokeAuthenticationToken / ReinstateAuthenticationToken, by the JWT or its derived short token
 * (scope `authentication_token:manage`, a `manage` grant). Idempotent. Reinstating an expired
 * token clears the flag but does not make it active.
 */
export async function setTokenRevoked(
  s: Services,
  caller: WorkloadCaller,
  instanceId: string,
  token: string,
  revoked: boolean,
): Promise<Record<string, never>> {
  return auditedOperation(
    s,
    caller,
    { instanceId, action: `authentication_token.${revoked ? 'revoke' : 'reinstate'}` },
    async (unit) => {
      const unscoped = await refuseWithoutScope(unit, caller.workload, ['authentication_token:manage'])
      if (unscoped) return unscoped
      const row = await findTokenRecord(s, unit.trx, instanceId, token)
      if (!row) return unit.refuse(tokenNotFound(), 'not_found')
      // Another application's token: the same 404, before its provider's grant is asked (see obtainJwt).
      if (row.consumer_id !== caller.workload.applicationId)
        return unit.refuse(tokenNotFound(), 'other_consumer')
      const provider = await authorizeProvider(unit, caller.workload, instanceId, row.provider_id, 'manage', {
        allowDisabled: true,
      })
      unit.about({ type: 'authentication_token', id: row.id })
      if (provider instanceof Refusal) return provider
      const changed =
        (await setTokensRevoked(
          unit,
          { instanceId, providerId: row.provider_id, tokenId: row.id },
          revoked,
          s.now(),
        )) > 0
      await unit.succeed({ credentialProvider: provider.identifier, changed })
      return {}
    },
  )
}

/** Revoke/ReinstateAuthenticationTokenByConsumer: every token of the consumer from the provider. */
export async function setConsumerTokensRevoked(
  s: Services,
  caller: WorkloadCaller,
  instanceId: string,
  body: ConsumerActionBody,
  revoked: boolean,
): Promise<Record<string, never>> {
  return auditedOperation(
    s,
    caller,
    {
      instanceId,
      action: `authentication_token.${revoked ? 'revoke' : 'reinstate'}_by_consumer`,
      details: { consumerId: body.consumerId },
    },
    async (unit) => {
      const unscoped = await refuseWithoutScope(unit, caller.workload, ['authentication_token:manage'])
      if (unscoped) return unscoped
      const provider = await authorizeProvider(
        unit,
        caller.workload,
        instanceId,
        body.credentialProviderIdentifier,
        'manage',
        { allowDisabled: true },
      )
      if (provider instanceof Refusal) return provider
      if (!isCaller(caller.workload, body.consumerId)) return refuseOtherConsumer(unit, body.consumerId)
      const changed = await setTokensRevoked(
        unit,
        { instanceId, providerId: provider.id, consumerId: caller.workload.applicationId },
        revoked,
        s.now(),
      )
      await unit.succeed({ credentialProvider: provider.identifier, changed })
      return {}
    },
  )
}

/**
 * ListAuthenticationTokens: one consumer's tokens from one provider, in id (creation) order, by
 * keyset pagination, with the total that match the filters (scope `authentication_token:read`,
 * a `read` grant on the provider).
 */
export async function listTokens(
  s: Services,
  caller: WorkloadCaller,
  instanceId: string,
  query: ListAuthenticationTokensQuery,
): Promise<AuthenticationTokenPage> {
  return auditedOperation(
    s,
    caller,
    { instanceId, action: 'authentication_token.list', details: { consumerId: query.consumerId } },
    async (unit) => {
      const unscoped = await refuseWithoutScope(unit, caller.workload, ['authentication_token:read'])
      if (unscoped) return unscoped
      const provider = await authorizeProvider(
        unit,
        caller.workload,
        instanceId,
        query.credentialProviderIdentifier,
        'read',
        { allowDisabled: true },
      )
      if (provider instanceof Refusal) return provider
      if (!isCaller(caller.workload, query.consumerId)) return refuseOtherConsumer(unit, query.consumerId)
      const page = await pageOfTokens(
        unit.trx,
        instanceId,
        {
          providerId: provider.id,
          consumerId: caller.workload.applicationId,
          revoked: query.revoked,
          expired: query.expired,
        },
        query,
        s.now(),
      )
      await unit.succeed({ credentialProvider: provider.identifier, returned: page.entities.length })
      return page
    },
  )
}
