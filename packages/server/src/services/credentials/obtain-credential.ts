import type { CredentialValue, ObtainedCredential } from '@strongroom/protocol'
import { IntegrityError, NotFound } from '../../errors.js'
import type { Caller, Services, Workload } from '../../services.js'
import { prepare } from '../../store/prepared.js'
import type { CredentialTable } from '../../store/schema.js'
import { auditedOperation, Refusal } from '../audited-operation.js'
import { authorize } from '../grants/authorize.js'

/**
 * ObtainCredential: the current value of a credential, to a workload whose token carries
 * `credential:obtain` and whose application holds an `obtain` grant on it (the rule is
 * `authorize`'s: scope, grant before existence, existence, status, each refusal audited).
 * Fail closed: the value leaves only once its audit event is committed.
 */
export async function obtainCredential(
  s: Services,
  caller: Caller & { workload: Workload },
  instanceId: string,
  identifier: string,
): Promise<ObtainedCredential> {
  const { workload } = caller
  const event = { instanceId, action: 'credential.obtain', details: { identifier } }
  const result = await auditedOperation(
    s,
    caller,
    event,
    async (unit) => {
      // One read for the credential and its current version's ciphertext, one for the grants and the
      // token's state; both in the unit's transaction, so they and the audit event see the same
      // committed state.
      let version: { ciphertext: Buffer; key_version: number } | undefined
      const row = await authorize<CredentialTable>(unit, workload, {
        instanceId,
        scopes: ['credential:obtain'],
        resourceType: 'credential',
        action: 'obtain',
        noun: 'credential',
        ref: identifier,
        find: async () => {
          const found = await credentialWithCurrentVersion.first(s.store, unit.trx, {
            instanceId,
            identifier,
          })
          if (!found) return undefined
          const { ciphertext, key_version, ...credential } = found
          if (ciphertext !== null && key_version !== null) version = { ciphertext, key_version }
          return credential
        },
        matchAs: (found) => ({ id: found?.id ?? '', identifier }),
        notFound: () => new NotFound('CredentialNotFound', `credential ${identifier} does not exist`),
        disabledCode: 'CredentialDisabled',
      })
      if (row instanceof Refusal) return row
      let plaintext: Buffer
      try {
        if (!version)
          throw new IntegrityError(`credential ${row.id} has no stored version ${row.current_version}`)
        plaintext = await s.keyring.decrypt(
          unit.trx,
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
        if (err instanceof IntegrityError) return unit.refuse(err, 'integrity')
        throw err
      }
      await unit.succeed({ version: row.current_version })
      return { row, value: JSON.parse(plaintext.toString('utf8')) as CredentialValue }
      // The token's state is read again in the unit with the grants, not before them: the hot
      // path's batch runs its units one after another, a round trip each statement on PostgreSQL.
    },
    { workloadState: 'with-grants' },
  )
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
