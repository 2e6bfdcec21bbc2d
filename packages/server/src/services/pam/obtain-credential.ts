import type { CredentialValue, ObtainedCredential } from '@strongroom/protocol'
import { IntegrityError, NotFound, PamError } from '../../errors.js'
import type { Caller, Services, Workload } from '../context.js'
import { isGranted } from '../grants/grants.js'
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
    const row = await trx
      .selectFrom('credentials')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('identifier', '=', identifier)
      .executeTakeFirst()
    const granted = await isGranted(
      trx,
      instanceId,
      workload.applicationId,
      'credential',
      { id: row?.id ?? '', identifier },
      'obtain',
    )
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
    const version = await trx
      .selectFrom('credential_versions')
      .select(['ciphertext', 'key_version'])
      .where('credential_id', '=', row.id)
      .where('version', '=', row.current_version)
      .executeTakeFirst()
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
