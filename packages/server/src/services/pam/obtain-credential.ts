import type { CredentialValue, ObtainedCredential } from '@strongroom/protocol'
import { IntegrityError, NotFound, PamError } from '../../errors.js'
import { prepare } from '../../store/prepared.js'
import type { CredentialTable } from '../../store/schema.js'
import type { Caller, Services, Workload } from '../context.js'
import { grantsAllow } from '../grants/grants.js'
import { requireScope } from './workload.js'

/**
 * ObtainCredential (CONTRACT.md): the current value of a credential, to a workload whose token
 * carries `credential:obtain` and whose application holds an `obtain` grant on it. The grant is
 * checked before existence, so an application learns nothing about credentials it may not have.
 * Fail closed: the value leaves only once its audit event is committed.
 */
export async function obtainCredential(
  s: Services,
  caller: Caller & { workload: Workload },
  instanceId: string,
  identifier: string,
): Promise<ObtainedCredential> {
  const { workload } = caller
  requireScope(workload, 'credential:obtain')
  const event = {
    instanceId,
    actor: caller.actor,
    action: 'credential.obtain',
    request: caller.request,
  }
  const result = await s.committer.run(async ({ trx, audit }) => {
    // One read for the credential and its current version's ciphertext, one for the grants; both
    // in the unit's transaction, so they and the audit event see the same committed state.
    const found = await credentialWithCurrentVersion.first(s.store, trx, { instanceId, identifier })
    let row: CredentialTable | undefined
    let version: { ciphertext: Buffer; key_version: number } | undefined
    if (found) {
      const { ciphertext, key_version, ...credential } = found
      row = credential
      if (ciphertext !== null && key_version !== null) version = { ciphertext, key_version }
    }
    const grants = await applicationGrants.all(s.store, trx, {
      instanceId,
      applicationId: workload.applicationId,
    })
    const granted = grantsAllow(grants, { id: row?.id ?? '', identifier }, 'obtain')
    const refuse = async (error: PamError, why: string) => {
      await audit.append({
        ...event,
        ...(row ? { resource: { type: 'credential', id: row.id } } : {}),
        outcome: 'denied',
        details: { identifier, why, tokenId: workload.tokenId },
      })
      return { error }
    }
    if (!granted) {
      return refuse(
        new PamError('PermissionDenied', 403, `this application holds no obtain grant on ${identifier}`),
        'no_grant',
      )
    }
    if (!row)
      return refuse(
        new NotFound('CredentialNotFound', `credential ${identifier} does not exist`),
        'not_found',
      )
    if (row.status !== 'enabled') {
      return refuse(
        new PamError('CredentialDisabled', 403, `credential ${identifier} is disabled`),
        'disabled',
      )
    }
    let plaintext: Buffer
    try {
      if (!version)
        throw new IntegrityError(`credential ${row.id} has no stored version ${row.current_version}`)
      plaintext = await s.keyring.decrypt(
        trx,
        {
          instanceId,
          table: 'credential_versions',
          recordId: row.id,
          field: 'value',
          version: row.current_version,
        },
        { ciphertext: version.ciphertext, keyVersion: version.key_version },
      )
    } catch (err) {
      if (err instanceof IntegrityError) return refuse(err, 'integrity')
      throw err
    }
    await audit.append({
      ...event,
      resource: { type: 'credential', id: row.id },
      outcome: 'success',
      details: { identifier, version: row.current_version, tokenId: workload.tokenId },
    })
    return { row, value: JSON.parse(plaintext.toString('utf8')) as CredentialValue }
  })
  if ('error' in result) throw result.error
  const { row, value } = result
  return {
    credentialId: row.id,
    credentialIdentifier: row.identifier,
    credentialName: row.name,
    credentialType: row.type,
    status: row.status,
    description: row.description,
    instanceId: row.instance_id,
    createTime: Number(row.created_at),
    updateTime: Number(row.updated_at),
    credentialCreationType: 'user_custom',
    credentialContent: content(row.type, value),
  }
}

/** The credential and, left-joined, the ciphertext of its current version (null if that is missing). */
const credentialWithCurrentVersion = prepare(['instanceId', 'identifier'], (db, p) =>
  db
    .selectFrom('credentials as c')
    .leftJoin('credential_versions as v', (join) =>
      join.onRef('v.credential_id', '=', 'c.id').onRef('v.version', '=', 'c.current_version'),
    )
    .selectAll('c')
    .select(['v.ciphertext', 'v.key_version'])
    .where('c.instance_id', '=', p.instanceId)
    .where('c.identifier', '=', p.identifier),
)

/** What `isGranted` reads: the application's credential grants. */
const applicationGrants = prepare(['instanceId', 'applicationId'], (db, p) =>
  db
    .selectFrom('grants')
    .select(['resource_match', 'resource', 'actions'])
    .where('instance_id', '=', p.instanceId)
    .where('application_id', '=', p.applicationId)
    .where('resource_type', '=', 'credential'),
)

function content(type: string, value: CredentialValue): ObtainedCredential['credentialContent'] {
  switch (type) {
    case 'api_key':
      return { apiKeyContent: value as { apiKey: string } }
    case 'oauth_client':
      return { oauthClientContent: value as { clientId: string; clientSecret: string } }
    case 'password':
      return { passwordContent: value as { password: string; username?: string } }
    default:
      return { sshKeyContent: value as { privateKey: string; passphrase?: string; publicKey?: string } }
  }
}
