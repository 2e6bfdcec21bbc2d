import type { AddApplicationKeysBody, ApplicationKey, ApplicationKeyList } from '@strongroom/protocol'
import { publicJwkFrom } from '../../crypto/jwk.js'
import { Conflict, NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import { ociFingerprint } from '../../oci/fingerprint.js'
import type { Caller, Services } from '../../services.js'
import type { ApplicationKeyTable } from '../../store/schema.js'
import { requireApplication } from './applications.js'

export function toApplicationKey(row: ApplicationKeyTable): ApplicationKey {
  const jwk = JSON.parse(row.public_jwk) as Record<string, string>
  // An RSA key may be an OCI API key: its OCI fingerprint names it in an OCI signature's keyId.
  const ociFingerprintOfKey = jwk.kty === 'RSA' ? ociFingerprint(jwk) : undefined
  return {
    applicationKeyId: row.id,
    applicationId: row.application_id,
    kid: row.kid,
    kty: jwk.kty ?? '',
    crv: jwk.crv ?? null,
    alg: jwk.alg ?? null,
    createTime: Number(row.created_at),
    ...(ociFingerprintOfKey === undefined ? {} : { ociFingerprint: ociFingerprintOfKey }),
  }
}

/** Registers the public keys an application signs its client assertions with (private_key_jwt). */
export async function addApplicationKeys(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
  body: AddApplicationKeysBody,
): Promise<ApplicationKeyList> {
  const jwks =
    body.pem !== undefined
      ? [publicJwkFrom({ pem: body.pem }, 'pem')]
      : body.jwk !== undefined
        ? [publicJwkFrom({ jwk: body.jwk }, 'jwk')]
        : (body.jwks?.keys ?? []).map((jwk, i) => publicJwkFrom({ jwk }, `jwks.keys.${i}`))
  return s.committer.run(async ({ trx, audit }) => {
    await requireApplication(trx, caller, instanceId, applicationId)
    const now = s.now()
    const rows: ApplicationKeyTable[] = []
    for (const jwk of jwks) {
      const kid = jwk.kid!
      const taken = await trx
        .selectFrom('application_keys')
        .select('id')
        .where('application_id', '=', applicationId)
        .where('kid', '=', kid)
        .executeTakeFirst()
      if (taken || rows.some((r) => r.kid === kid)) {
        throw new Conflict('Conflict', `the application already has a key with kid ${kid}`, 'kid')
      }
      const row: ApplicationKeyTable = {
        id: newId('apk', now),
        instance_id: instanceId,
        application_id: applicationId,
        kid,
        public_jwk: JSON.stringify(jwk),
        created_at: now,
      }
      await trx.insertInto('application_keys').values(row).execute()
      rows.push(row)
      await audit.append({
        instanceId,
        actor: caller.actor,
        action: 'application_key.add',
        resource: { type: 'application', id: applicationId },
        outcome: 'success',
        details: { applicationKeyId: row.id, kid, kty: jwk.kty ?? null },
        request: caller.request,
      })
    }
    return { entities: rows.map(toApplicationKey) }
  })
}

export async function listApplicationKeys(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
): Promise<ApplicationKeyList> {
  await requireApplication(s.store.db, caller, instanceId, applicationId)
  const rows = await s.store.db
    .selectFrom('application_keys')
    .selectAll()
    .where('application_id', '=', applicationId)
    .orderBy('id')
    .execute()
  return { entities: rows.map(toApplicationKey) }
}

export async function removeApplicationKey(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
  applicationKeyId: string,
): Promise<void> {
  await s.committer.run(async ({ trx, audit }) => {
    await requireApplication(trx, caller, instanceId, applicationId)
    const deleted = await trx
      .deleteFrom('application_keys')
      .where('application_id', '=', applicationId)
      .where('id', '=', applicationKeyId)
      .executeTakeFirst()
    if (Number(deleted.numDeletedRows) !== 1) {
      throw new NotFound(
        'NotFound',
        `application key ${applicationKeyId} does not exist for ${applicationId}`,
      )
    }
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'application_key.remove',
      resource: { type: 'application', id: applicationId },
      outcome: 'success',
      details: { applicationKeyId },
      request: caller.request,
    })
  })
}
