import type {
  CreateCredentialProviderBody,
  CredentialProvider,
  CredentialProviderListQuery,
  Status,
  UpdateCredentialProviderBody,
} from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { Binding } from '../../crypto/keyring.js'
import { Conflict, InvalidParameter, NotFound, PamError } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services } from '../../services.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { CredentialProviderTable, Database } from '../../store/schema.js'
import { isUniqueViolation, type UniqueIndex } from '../../store/unique-violation.js'
import { requireInstance } from '../instances/instances.js'
import { changeStatus } from '../status.js'
import { generateProviderKey } from './provider-keys.js'
import {
  type JwtSettings,
  newJwtSettings,
  newOAuthSettings,
  type OAuthSettings,
  updatedJwtSettings,
  updatedOAuthSettings,
} from './settings.js'

/** Where a provider's secret is sealed: bound to the row, so it cannot be moved to another provider. */
export const providerSecretBinding = (row: Pick<CredentialProviderTable, 'instance_id' | 'id'>): Binding => ({
  instanceId: row.instance_id,
  table: 'credential_providers',
  recordId: row.id,
  field: 'secret',
  version: 1,
})

export const oauthSettingsOf = (row: CredentialProviderTable) => JSON.parse(row.settings) as OAuthSettings
export const jwtSettingsOf = (row: CredentialProviderTable) => JSON.parse(row.settings) as JwtSettings

/** The provider's own URL: the default `iss` of its JWTs; its JWKS is below it. */
export function providerUrl(
  s: Pick<Services, 'publicUrl'>,
  row: Pick<CredentialProviderTable, 'instance_id' | 'id'>,
) {
  return `${s.publicUrl}/v2/${row.instance_id}/credentialProviders/${row.id}`
}

/** A jwt provider's default `iss`: the configured issuer, else the provider's own URL. */
export function providerIssuer(
  s: Pick<Services, 'publicUrl'>,
  row: CredentialProviderTable,
  settings: JwtSettings = jwtSettingsOf(row),
): string {
  return settings.issuer ?? providerUrl(s, row)
}

export function toProvider(s: Pick<Services, 'publicUrl'>, row: CredentialProviderTable): CredentialProvider {
  const base: CredentialProvider = {
    credentialProviderId: row.id,
    credentialProviderIdentifier: row.identifier,
    credentialProviderName: row.name,
    credentialProviderType: row.type,
    status: row.status,
    description: row.description,
    instanceId: row.instance_id,
    createTime: Number(row.created_at),
    updateTime: Number(row.updated_at),
  }
  if (row.type === 'oauth') return { ...base, oauth: oauthSettingsOf(row) }
  const settings = jwtSettingsOf(row)
  const jwk = JSON.parse(row.public_jwk ?? '{}') as { kid?: string }
  return {
    ...base,
    jwt: {
      ...settings,
      issuer: providerIssuer(s, row, settings),
      keyId: jwk.kid ?? '',
      jwksUri: `${providerUrl(s, row)}/.well-known/jwks.json`,
    },
  }
}

const PROVIDERS_IDENTIFIER: UniqueIndex = {
  name: 'credential_providers_identifier',
  table: 'credential_providers',
  columns: ['instance_id', 'identifier'],
}

function identifierTaken(identifier: string): Conflict {
  return new Conflict(
    'CredentialProviderIdentifierExists',
    `a credential provider with identifier ${identifier} already exists`,
    'credentialProviderIdentifier',
  )
}

export async function createProvider(
  s: Services,
  caller: Caller,
  instanceId: string,
  body: CreateCredentialProviderBody,
): Promise<CredentialProvider> {
  const type = body.credentialProviderType
  const other = type === 'oauth' ? 'jwt' : 'oauth'
  if (body[other] !== undefined) {
    throw new InvalidParameter(other, `must not be set for a provider of type ${type}`)
  }
  let settings: OAuthSettings | JwtSettings
  let secret: Buffer
  let publicJwk: string | null = null
  if (body.oauth !== undefined) {
    settings = newOAuthSettings(body.oauth)
    secret = Buffer.from(body.oauth.clientSecret, 'utf8')
  } else if (type === 'oauth') {
    throw new InvalidParameter('oauth', 'is required for a provider of type oauth')
  } else {
    const jwt = newJwtSettings(body.jwt ?? {})
    const key = generateProviderKey(jwt.algorithm)
    settings = jwt
    secret = key.privateDer
    publicJwk = JSON.stringify(key.publicJwk)
  }
  return s.committer.run(async ({ trx, audit }) => {
    await requireInstance(trx, caller, instanceId)
    const taken = await trx
      .selectFrom('credential_providers')
      .select('id')
      .where('instance_id', '=', instanceId)
      .where('identifier', '=', body.credentialProviderIdentifier)
      .executeTakeFirst()
    if (taken) throw identifierTaken(body.credentialProviderIdentifier)
    const now = s.now()
    const id = newId('atp', now)
    const sealed = await s.keyring.encrypt(
      trx,
      providerSecretBinding({ instance_id: instanceId, id }),
      secret,
    )
    const row: CredentialProviderTable = {
      id,
      instance_id: instanceId,
      identifier: body.credentialProviderIdentifier,
      name: body.credentialProviderName ?? body.credentialProviderIdentifier,
      description: body.description ?? '',
      type,
      status: 'enabled',
      settings: JSON.stringify(settings),
      secret_ciphertext: sealed.ciphertext,
      key_version: sealed.keyVersion,
      public_jwk: publicJwk,
      created_at: now,
      updated_at: now,
    }
    try {
      await trx.insertInto('credential_providers').values(row).execute()
    } catch (error) {
      // Another node inserted the identifier after the check above: the check's answer.
      if (isUniqueViolation(error, PROVIDERS_IDENTIFIER)) throw identifierTaken(row.identifier)
      throw error
    }
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'credential_provider.create',
      resource: { type: 'credential_provider', id },
      outcome: 'success',
      details: { identifier: row.identifier, providerType: type },
      request: caller.request,
    })
    return toProvider(s, row)
  })
}

export async function listProviders(
  s: Services,
  caller: Caller,
  instanceId: string,
  query: CredentialProviderListQuery,
): Promise<Page<CredentialProvider>> {
  await requireInstance(s.store.db, caller, instanceId)
  const type = query.credentialProviderType
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('credential_providers')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .$if(type !== undefined, (q) => q.where('type', '=', type!))
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    (row) => toProvider(s, row),
  )
}

export const PROVIDER_ID = /^atp_[0-9a-z]{26}$/

/** A provider of the instance by id (`atp_…`) or identifier, or undefined. No authorization here. */
export function findProvider(
  db: Kysely<Database>,
  instanceId: string,
  ref: string,
): Promise<CredentialProviderTable | undefined> {
  return db
    .selectFrom('credential_providers')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where(PROVIDER_ID.test(ref) ? 'id' : 'identifier', '=', ref)
    .executeTakeFirst()
}

/** A provider in an instance the caller may administer, or `CredentialProviderNotFound`. */
export async function requireProvider(
  db: Kysely<Database>,
  caller: Caller,
  instanceId: string,
  ref: string,
): Promise<CredentialProviderTable> {
  await requireInstance(db, caller, instanceId)
  const row = await findProvider(db, instanceId, ref)
  if (!row) {
    throw new NotFound(
      'CredentialProviderNotFound',
      `credential provider ${ref} does not exist in instance ${instanceId}`,
    )
  }
  return row
}

export async function getProvider(s: Services, caller: Caller, instanceId: string, ref: string) {
  return toProvider(s, await requireProvider(s.store.db, caller, instanceId, ref))
}

export async function updateProvider(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  body: UpdateCredentialProviderBody,
): Promise<CredentialProvider> {
  return s.committer.run(async ({ trx, audit }) => {
    const row = await requireProvider(trx, caller, instanceId, ref)
    const other = row.type === 'oauth' ? 'jwt' : 'oauth'
    if (body[other] !== undefined) {
      throw new PamError(
        'CredentialProviderTypeMismatch',
        `${row.identifier} is a ${row.type} provider: ${other} settings do not apply`,
        { field: other, rule: `must not be set for a provider of type ${row.type}` },
      )
    }
    const now = s.now()
    const changes: Partial<CredentialProviderTable> = {
      name: body.credentialProviderName ?? row.name,
      description: body.description ?? row.description,
      updated_at: now,
    }
    if (body.oauth !== undefined) {
      changes.settings = JSON.stringify(updatedOAuthSettings(oauthSettingsOf(row), body.oauth))
      if (body.oauth.clientSecret !== undefined) {
        const sealed = await s.keyring.encrypt(
          trx,
          providerSecretBinding(row),
          Buffer.from(body.oauth.clientSecret, 'utf8'),
        )
        changes.secret_ciphertext = sealed.ciphertext
        changes.key_version = sealed.keyVersion
      }
    }
    if (body.jwt !== undefined)
      changes.settings = JSON.stringify(updatedJwtSettings(jwtSettingsOf(row), body.jwt))
    await trx.updateTable('credential_providers').set(changes).where('id', '=', row.id).execute()
    // Field names only: a changed client secret is recorded as `oauth.clientSecret`, never its value.
    const fields = [
      ...Object.keys(body).filter((k) => k !== 'oauth' && k !== 'jwt'),
      ...Object.keys(body.oauth ?? {}).map((k) => `oauth.${k}`),
      ...Object.keys(body.jwt ?? {}).map((k) => `jwt.${k}`),
    ].sort()
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'credential_provider.update',
      resource: { type: 'credential_provider', id: row.id },
      outcome: 'success',
      details: { fields: fields.join(',') },
      request: caller.request,
    })
    return toProvider(s, { ...row, ...changes })
  })
}

export async function setProviderStatus(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  status: Status,
): Promise<CredentialProvider> {
  return s.committer.run(async (unit) => {
    const row = await requireProvider(unit.trx, caller, instanceId, ref)
    await changeStatus(
      unit,
      caller,
      { table: 'credential_providers', resourceType: 'credential_provider', row },
      status,
      s.now(),
    )
    return toProvider(s, row)
  })
}

/** A jwt provider of the instance by id, for the public endpoints (no authentication). */
async function publishedProvider(s: Services, instanceId: string, providerId: string) {
  const row = PROVIDER_ID.test(providerId)
    ? await findProvider(s.store.db, instanceId, providerId)
    : undefined
  if (row?.type !== 'jwt' || row.public_jwk === null) {
    throw new NotFound(
      'CredentialProviderNotFound',
      `no jwt credential provider ${providerId} in instance ${instanceId}`,
    )
  }
  return { row, jwk: JSON.parse(row.public_jwk) as Record<string, string> }
}

/** The public JWKS of a jwt provider (no authentication: relying parties fetch it). */
export async function providerJwks(
  s: Services,
  instanceId: string,
  providerId: string,
): Promise<{ keys: Record<string, string>[] }> {
  return { keys: [(await publishedProvider(s, instanceId, providerId)).jwk] }
}

/** OpenID-style discovery for a provider's issuer URL, so relying parties can find the JWKS from `iss`. */
export async function providerMetadata(s: Services, instanceId: string, providerId: string) {
  const { row, jwk } = await publishedProvider(s, instanceId, providerId)
  return {
    issuer: providerUrl(s, row),
    jwks_uri: `${providerUrl(s, row)}/.well-known/jwks.json`,
    id_token_signing_alg_values_supported: [jwk.alg!],
  }
}
