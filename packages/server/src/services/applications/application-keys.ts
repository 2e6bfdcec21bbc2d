import {
  type AddApplicationKeysBody,
  type ApplicationKey,
  type ApplicationKeyList,
  IssueSessionTokenBody,
} from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { jwkThumbprint, publicJwkFrom } from '../../crypto/jwk.js'
import { Conflict, NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import { ociFingerprint } from '../../oci/fingerprint.js'
import type { Caller, Services } from '../../services.js'
import type { ApplicationKeyTable, Database } from '../../store/schema.js'
import { isUniqueViolation, type UniqueIndex } from '../../store/unique-violation.js'
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

const APPLICATION_KEYS_KID: UniqueIndex = {
  name: 'application_keys_application',
  table: 'application_keys',
  columns: ['application_id', 'kid'],
}

function kidTaken(kid: string): Conflict {
  return new Conflict('Conflict', `the application already has a key with kid ${kid}`, 'kid')
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
    // The instance's chain head first, which every change to its applications' keys holds until
    // it commits: the keys read below are all there will be when this commits, on any node.
    await audit.hold(instanceId)
    await requireApplication(trx, caller, instanceId, applicationId)
    const now = s.now()
    const rows: ApplicationKeyTable[] = []
    // One public key, one entry: registered twice (as a PEM and as a JWK with another kid, say),
    // removing one entry left the key working through the other (found by a review).
    const held = await trx
      .selectFrom('application_keys')
      .select(['kid', 'public_jwk'])
      .where('application_id', '=', applicationId)
      .execute()
    const thumbprints = new Map(held.map((k) => [jwkThumbprint(JSON.parse(k.public_jwk)), k.kid]))
    for (const [i, jwk] of jwks.entries()) {
      const kid = jwk.kid!
      if (held.some((k) => k.kid === kid) || rows.some((r) => r.kid === kid)) throw kidTaken(kid)
      const thumbprint = jwkThumbprint(jwk)
      const same = thumbprints.get(thumbprint)
      if (same !== undefined) {
        const field = body.pem !== undefined ? 'pem' : body.jwk !== undefined ? 'jwk' : `jwks.keys.${i}`
        throw new Conflict('Conflict', `the application already has this public key, as kid ${same}`, field)
      }
      thumbprints.set(thumbprint, kid)
      const row: ApplicationKeyTable = {
        id: newId('apk', now),
        instance_id: instanceId,
        application_id: applicationId,
        kid,
        public_jwk: JSON.stringify(jwk),
        created_at: now,
      }
      try {
        await trx.insertInto('application_keys').values(row).execute()
      } catch (error) {
        // Another node added the kid after the check above: the check's answer.
        if (isUniqueViolation(error, APPLICATION_KEYS_KID)) throw kidTaken(kid)
        throw error
      }
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
    const sessionsEnded = await endSessionsStartedWith(
      trx,
      instanceId,
      applicationId,
      applicationKeyId,
      s.now(),
    )
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'application_key.remove',
      resource: { type: 'application', id: applicationId },
      outcome: 'success',
      details: { applicationKeyId, sessionsEnded },
      request: caller.request,
    })
  })
}

/** The longest a session may be asked to live (the protocol's `sessionExpirationInMinutes`). */
const MAX_SESSION_MS = (IssueSessionTokenBody.properties.sessionExpirationInMinutes.maximum ?? 60) * 60_000

/**
 * A key that signed OCI requests is the parent of what they were given: the sessions it started
 * (GenerateUpst; their `parent_jti` is the key's id, services/oci/authenticate-oci-request.ts)
 * and the scoped tokens (generateScopedAccessToken; their `pjti` is the key's id). Removing the
 * key ends them all, as revoking an access token ends what was derived from it: the key's id goes
 * on the revocation list every check reads, for as long as any of them, or one issued in a batch
 * racing this one, could still be live (a session lives 60 minutes at most, a scoped token no
 * longer than the application's access tokens). Answers how many of its sessions were live.
 */
async function endSessionsStartedWith(
  trx: Kysely<Database>,
  instanceId: string,
  applicationId: string,
  keyId: string,
  now: number,
): Promise<number> {
  const sessions = await trx
    .selectFrom('token_sessions')
    .select((eb) => [eb.fn.countAll<number | string>().as('live'), eb.fn.max('expires_at').as('lastEnd')])
    .where('instance_id', '=', instanceId)
    .where('parent_jti', '=', keyId)
    .where('revoked', '=', 0)
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow()
  const application = await trx
    .selectFrom('applications')
    .select('access_token_lifetime')
    .where('id', '=', applicationId)
    .executeTakeFirstOrThrow()
  const expiresAt = Math.max(
    Number(sessions.lastEnd ?? 0),
    now + MAX_SESSION_MS,
    now + Number(application.access_token_lifetime) * 1000,
  )
  await trx
    .insertInto('revoked_access_tokens')
    .values({ jti: keyId, instance_id: instanceId, expires_at: expiresAt })
    .onConflict((oc) => oc.column('jti').doUpdateSet({ expires_at: expiresAt }))
    .execute()
  return Number(sessions.live)
}
