import type {
  CreateFederatedCredentialBody,
  FederatedCredential,
  FederatedCredentialList,
} from '@strongroom/protocol'
import { publicJwkFrom } from '../../crypto/jwk.js'
import { Conflict, InvalidParameter, NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services } from '../../services.js'
import type { FederatedCredentialTable } from '../../store/schema.js'
import { isUniqueViolation, type UniqueIndex } from '../../store/unique-violation.js'
import { checkOutboundEndpoint } from '../outbound-endpoint.js'
import { requireApplication } from './applications.js'

export function toFederatedCredential(row: FederatedCredentialTable): FederatedCredential {
  return {
    federatedCredentialId: row.id,
    applicationId: row.application_id,
    name: row.name,
    issuer: row.issuer,
    subject: row.subject,
    audiences: JSON.parse(row.audiences) as string[],
    jwksUri: row.jwks_uri,
    staticJwks: row.jwks !== null,
    createTime: Number(row.created_at),
  }
}

const FEDERATED_CREDENTIALS_NAME: UniqueIndex = {
  name: 'federated_credentials_name',
  table: 'federated_credentials',
  columns: ['application_id', 'name'],
}

function nameTaken(name: string): Conflict {
  return new Conflict('Conflict', `the application already has a federated credential named ${name}`, 'name')
}

/**
 * Lets an application authenticate with a token from an external OIDC issuer (a Kubernetes
 * service-account token, a CI job token): matched on issuer, subject and audience, verified with
 * the issuer's keys, from its JWKS URL (fetched and cached) or given here.
 */
export async function createFederatedCredential(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
  body: CreateFederatedCredentialBody,
): Promise<FederatedCredential> {
  if ((body.jwksUri === undefined) === (body.jwks === undefined)) {
    throw new InvalidParameter('jwksUri', 'or jwks is required, and not both')
  }
  // Keys fetched over plain http could be a network attacker's, and so could every token they verify.
  if (body.jwksUri !== undefined) checkOutboundEndpoint(body.jwksUri, 'jwksUri')
  const keys = body.jwks?.keys.map((jwk, i) => publicJwkFrom({ jwk }, `jwks.keys.${i}`))
  return s.committer.run(async ({ trx, audit }) => {
    await requireApplication(trx, caller, instanceId, applicationId)
    const taken = await trx
      .selectFrom('federated_credentials')
      .select('id')
      .where('application_id', '=', applicationId)
      .where('name', '=', body.name)
      .executeTakeFirst()
    if (taken) throw nameTaken(body.name)
    const now = s.now()
    const row: FederatedCredentialTable = {
      id: newId('fc', now),
      instance_id: instanceId,
      application_id: applicationId,
      name: body.name,
      issuer: body.issuer,
      subject: body.subject,
      audiences: JSON.stringify(body.audiences),
      jwks_uri: body.jwksUri ?? null,
      jwks: keys ? JSON.stringify({ keys }) : null,
      created_at: now,
    }
    try {
      await trx.insertInto('federated_credentials').values(row).execute()
    } catch (error) {
      // Another node inserted the name after the check above: the check's answer.
      if (isUniqueViolation(error, FEDERATED_CREDENTIALS_NAME)) throw nameTaken(row.name)
      throw error
    }
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'federated_credential.create',
      resource: { type: 'application', id: applicationId },
      outcome: 'success',
      details: { federatedCredentialId: row.id, name: row.name, issuer: row.issuer, subject: row.subject },
      request: caller.request,
    })
    return toFederatedCredential(row)
  })
}

export async function listFederatedCredentials(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
): Promise<FederatedCredentialList> {
  await requireApplication(s.store.db, caller, instanceId, applicationId)
  const rows = await s.store.db
    .selectFrom('federated_credentials')
    .selectAll()
    .where('application_id', '=', applicationId)
    .orderBy('id')
    .execute()
  return { entities: rows.map(toFederatedCredential) }
}

export async function deleteFederatedCredential(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
  federatedCredentialId: string,
): Promise<void> {
  await s.committer.run(async ({ trx, audit }) => {
    await requireApplication(trx, caller, instanceId, applicationId)
    const deleted = await trx
      .deleteFrom('federated_credentials')
      .where('application_id', '=', applicationId)
      .where('id', '=', federatedCredentialId)
      .executeTakeFirst()
    if (Number(deleted.numDeletedRows) !== 1) {
      throw new NotFound(
        'NotFound',
        `federated credential ${federatedCredentialId} does not exist for ${applicationId}`,
      )
    }
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'federated_credential.delete',
      resource: { type: 'application', id: applicationId },
      outcome: 'success',
      details: { federatedCredentialId },
      request: caller.request,
    })
  })
}
