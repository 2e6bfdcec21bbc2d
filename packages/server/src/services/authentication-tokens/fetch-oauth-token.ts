import type { FetchOAuthTokenBody, OAuthTokenResult } from '@strongroom/protocol'
import { keyedHash } from '../../crypto/minted-secret.js'
import { AuditUnavailable, PamError, ServiceUnavailable } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services, Workload } from '../../services.js'
import { isDatabaseUnavailable } from '../../store/postgres-pool.js'
import type { AuthenticationTokenTable, CredentialProviderTable } from '../../store/schema.js'
import { auditedOperation } from '../audited-operation.js'
import { authorizeProvider } from '../providers/provider-access.js'
import { oauthSettingsOf } from '../providers/providers.js'
import { checkCustomParameters, type UpstreamToken } from '../providers/upstream-tokens.js'
import { insertTokenRecord } from './token-counts.js'
import { toAuthenticationToken } from './token-records.js'

type WorkloadCaller = Caller & { workload: Workload }

/**
 * FetchOAuthAuthenticationToken: an access token from the provider's upstream token endpoint by
 * client credentials (scope `authentication_token:obtain`, a `use` grant). The upstream token is
 * shared per provider and scope until shortly before it expires, and concurrent callers share
 * one upstream request; no transaction is held open while the upstream answers. Each consumer
 * gets one authentication token record per upstream token.
 */
export async function fetchOAuthToken(
  s: Services,
  caller: WorkloadCaller,
  instanceId: string,
  body: FetchOAuthTokenBody,
): Promise<OAuthTokenResult> {
  const { workload } = caller
  const customParameters = checkCustomParameters(body.customParameters)
  const event = { instanceId, action: 'authentication_token.fetch_oauth' }
  const provider = await auditedOperation(s, caller, event, (unit) =>
    authorizeProvider(unit, workload, instanceId, body.credentialProviderIdentifier, 'use', {
      type: 'oauth',
      scopes: ['authentication_token:obtain'],
    }),
  )
  const settings = oauthSettingsOf(provider)
  const scope = (body.scope ?? '').split(' ').filter(Boolean).join(' ') || settings.defaultScope
  const variant = JSON.stringify([
    scope,
    Object.entries(customParameters).sort(([a], [b]) => (a < b ? -1 : 1)),
  ])
  let token: UpstreamToken
  try {
    token = await s.providers.upstream.get(
      provider.id,
      Number(provider.updated_at),
      variant,
      {
        provider: provider.identifier,
        instanceId: provider.instance_id,
        settings,
        clientSecret: async () => (await s.providers.secret(s.store.db, provider)).toString('utf8'),
        scope,
        customParameters,
      },
      body.forceAuthentication === true,
    )
  } catch (err) {
    // Every failure is audited, the upstream's and our own (the store failing while the nodes
    // share the token, say): the upstream may have been called with the client secret. The event
    // holds the error's code, never a token or secret. What is answered is `err` itself, so a
    // database that is down is still 503 and a failure of the upstream still 502.
    const ours =
      !(err instanceof PamError) ||
      isDatabaseUnavailable(err) ||
      err instanceof AuditUnavailable ||
      err instanceof ServiceUnavailable
    const failure = err instanceof PamError ? err : storeFailure(err)
    await auditedOperation<never>(s, caller, event, async (unit) => {
      unit.about({ type: 'credential_provider', id: provider.id })
      return unit.fail(failure, ours ? 'store' : 'upstream', { credentialProvider: provider.identifier })
    }).catch((auditError: unknown) => {
      // The refusal `fail` returns, thrown once its event is committed.
      if (auditError !== failure) throw auditError
    })
    throw err
  }
  const row = await recordFor(s, caller, event, provider, token)
  return {
    ...toAuthenticationToken(row),
    oauthAccessTokenContent: {
      accessTokenValue: token.accessToken,
      scope: token.scope,
      tokenType: token.tokenType,
    },
  }
}

/**
 * What the audit event records of a failure that is not a `PamError`: the code its answer will
 * have (503 for a database that is unavailable, 500 otherwise), never its message.
 */
function storeFailure(err: unknown): PamError {
  return isDatabaseUnavailable(err)
    ? new ServiceUnavailable('the database is unavailable')
    : new PamError('InternalError', 'an internal error occurred while obtaining the upstream token')
}

/** The consumer's record of this upstream token: created once, then reused while it is not revoked. */
async function recordFor(
  s: Services,
  caller: WorkloadCaller,
  event: { instanceId: string; action: string },
  provider: CredentialProviderTable,
  token: UpstreamToken,
): Promise<AuthenticationTokenTable> {
  const consumer = caller.workload.applicationId
  const details = { credentialProvider: provider.identifier }
  // Read and set without awaiting in between: concurrent callers of one consumer share one record.
  const pending = token.records.get(consumer)
  if (pending === undefined) return createRecord(s, caller, event, provider, token)
  const recorded = await pending
  if (recorded !== undefined) {
    const reused = await auditedOperation(s, caller, event, async (unit) => {
      const row = await unit.trx
        .selectFrom('authentication_tokens')
        .selectAll()
        .where('id', '=', recorded)
        .executeTakeFirst()
      if (!row || Number(row.revoked) === 1) return undefined
      unit.about({ type: 'authentication_token', id: row.id })
      await unit.succeed({ ...details, authenticationTokenId: row.id })
      return row
    })
    if (reused) return reused
  }
  return createRecord(s, caller, event, provider, token)
}

function createRecord(
  s: Services,
  caller: WorkloadCaller,
  event: { instanceId: string; action: string },
  provider: CredentialProviderTable,
  token: UpstreamToken,
): Promise<AuthenticationTokenTable> {
  const consumer = caller.workload.applicationId
  const details = { credentialProvider: provider.identifier }
  const created = auditedOperation(s, caller, event, async (unit) => {
    const valueHash = keyedHash(s.keyring.hashKey, token.accessToken)
    // Another node may have recorded this upstream token for this consumer already (the nodes
    // share upstream tokens): under the instance's audit head, which every such unit takes, the
    // first record is found and reused, so there is one record per consumer and token.
    await unit.audit.hold(provider.instance_id)
    const recorded = await unit.trx
      .selectFrom('authentication_tokens')
      .selectAll()
      .where('instance_id', '=', provider.instance_id)
      .where('provider_id', '=', provider.id)
      .where('consumer_id', '=', consumer)
      .where('value_hash', '=', valueHash)
      .where('revoked', '=', 0)
      .executeTakeFirst()
    if (recorded) {
      unit.about({ type: 'authentication_token', id: recorded.id })
      await unit.succeed({ ...details, authenticationTokenId: recorded.id })
      return recorded
    }
    const now = s.now()
    const row: AuthenticationTokenTable = {
      id: newId('atntkn', now),
      instance_id: provider.instance_id,
      provider_id: provider.id,
      type: 'oauth_access_token',
      consumer_id: consumer,
      consumer_type: 'application',
      creator_id: consumer,
      creator_type: 'application',
      revoked: 0,
      value_hash: valueHash,
      value_ciphertext: null,
      key_version: null,
      short_token_hash: null,
      created_at: now,
      updated_at: now,
      expires_at: token.expiresAt,
    }
    await insertTokenRecord(unit, row)
    unit.about({ type: 'authentication_token', id: row.id })
    await unit.succeed({ ...details, authenticationTokenId: row.id, created: true })
    return row
  })
  // Concurrent callers of the same consumer wait for this record instead of each creating one.
  token.records.set(
    consumer,
    created.then(
      (row) => row.id,
      () => undefined,
    ),
  )
  return created
}
