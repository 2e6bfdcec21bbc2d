import {
  MAX_STS_DURATION_SECONDS,
  MIN_STS_DURATION_SECONDS,
  type ObtainCloudAccessCredentialQuery,
  type ObtainedCloudAccessCredential,
} from '@strongroom/protocol'
import { IntegrityError, InvalidParameter, PamError } from '../../errors.js'
import type { Caller, Services, Workload } from '../../services.js'
import { prepare } from '../../store/prepared.js'
import type { CloudAccountRoleTable, CloudAccountTable } from '../../store/schema.js'
import type { AssumedRole, AssumeRoleRequest } from '../../sts/assume-role.js'
import { type AuditedUnit, auditedOperation, Refusal } from '../audited-operation.js'
import { authorize } from '../grants/authorize.js'
import {
  type CloudAccessKey,
  cloudAccountRoleNotFound,
  cloudKeyBinding,
  stsEndpointOf,
} from './cloud-account-record.js'
import { roleSessionName } from './session-name.js'

type WorkloadCaller = Caller & { workload: Workload }

const DURATION_RULE = `must be whole seconds, ${MIN_STS_DURATION_SECONDS}–${MAX_STS_DURATION_SECONDS}`

/** `durationSeconds` as the query string carries it: digits, within what both vendors' STS accept. */
function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const seconds = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN
  if (!(seconds >= MIN_STS_DURATION_SECONDS && seconds <= MAX_STS_DURATION_SECONDS))
    throw new InvalidParameter('durationSeconds', DURATION_RULE, 'InvalidParameter.DurationSeconds')
  return seconds
}

/** A role with what the call needs of its account and the account's current sealed key pair. */
interface RoleWithAccount extends CloudAccountRoleTable {
  account: CloudAccountTable
  sealed: { ciphertext: Buffer; key_version: number } | undefined
}

/**
 * What one authorized call asks STS for. `key` names the credentials a node may share: one
 * application (the session name is its), one role and account as they are now (an edit, a rotation
 * or a new endpoint changes it), one duration.
 */
interface Plan {
  role: RoleWithAccount
  durationSeconds: number
  key: string
}

const roleByArn = prepare(['instanceId', 'arn'], (db, p) =>
  db
    .selectFrom('cloud_account_roles as r')
    .innerJoin('cloud_accounts as a', 'a.id', 'r.cloud_account_id')
    .leftJoin('cloud_account_keys as k', (join) =>
      join.onRef('k.cloud_account_id', '=', 'a.id').onRef('k.version', '=', 'a.current_version'),
    )
    .selectAll('r')
    .select([
      'a.name as a_name',
      'a.description as a_description',
      'a.vendor as a_vendor',
      'a.vendor_account_id as a_vendor_account_id',
      'a.access_key_hint as a_access_key_hint',
      'a.sts_endpoint as a_sts_endpoint',
      'a.region as a_region',
      'a.status as a_status',
      'a.current_version as a_current_version',
      'a.created_at as a_created_at',
      'a.updated_at as a_updated_at',
      'k.ciphertext',
      'k.key_version',
    ])
    .where('r.instance_id', '=', p.instanceId)
    .where('r.role_arn', '=', p.arn),
)

/**
 * ObtainCloudAccountRoleAccessCredential: short-lived STS credentials for a role, to a workload
 * whose token carries `cloud_account_role:obtain_access_credential` and whose application holds an
 * `obtain` grant on the role. The gate's rule (scope, grant before existence, existence, status),
 * then the account's status and the role's maximum duration, each refusal audited before any STS
 * call. The STS call runs outside any transaction; the credentials leave only once the success
 * event (role, duration, the assumed-role id, never a key or token) is committed, and the grant is
 * checked again in that same unit.
 */
export async function obtainCloudAccessCredential(
  s: Services,
  caller: WorkloadCaller,
  instanceId: string,
  query: ObtainCloudAccessCredentialQuery,
): Promise<ObtainedCloudAccessCredential> {
  const asked = parseDuration(query.durationSeconds)
  const arn = query.cloudAccountRoleExternalId
  const event = {
    instanceId,
    action: 'cloud_account_role.obtain_access_credential',
    details: { roleExternalId: arn, ...(asked === undefined ? {} : { durationSeconds: asked }) },
  }
  const authorized = (unit: AuditedUnit) => authorizeRole(s, unit, caller.workload, instanceId, arn, asked)
  // Each unit starts with `authorized`, whose grants statement re-reads the token's state.
  const withGrants = { workloadState: 'with-grants' } as const

  const first = await auditedOperation(
    s,
    caller,
    event,
    async (unit) => {
      const plan = await authorized(unit)
      if (plan instanceof Refusal) return plan
      const held = s.assumedRoles.usable(plan.key)
      if (!held) return plan // no event yet: the one event is written once STS has answered
      await unit.succeed(succeeded(plan, held, true))
      return answer(plan.role, held)
    },
    withGrants,
  )
  if (!('key' in first)) return first

  let assumed: AssumedRole
  try {
    assumed = await s.assumedRoles.obtain(first.key, () => assumeRoleRequest(s, caller.workload, first))
  } catch (error) {
    const failure =
      error instanceof PamError
        ? error
        : new PamError('StsUnavailable', 'the STS call failed', { cause: error })
    await auditedOperation(
      s,
      caller,
      event,
      async (unit) => {
        const plan = await authorized(unit)
        if (plan instanceof Refusal) return plan
        return unit.fail(failure, 'sts', { durationSeconds: plan.durationSeconds })
      },
      withGrants,
    )
    throw failure
  }
  return auditedOperation(
    s,
    caller,
    event,
    async (unit) => {
      const plan = await authorized(unit)
      if (plan instanceof Refusal) return plan
      // The account's key was rotated, or the role or account edited, while STS was answering
      // (on another node, say): these credentials were minted with what no longer holds, and are
      // not handed out. The caller retries and gets credentials of the current settings.
      if (plan.key !== first.key) {
        const changed = new PamError(
          'Conflict',
          'the role or its cloud account changed while its credentials were being obtained; retry',
        )
        return unit.fail(changed, 'changed_during_sts', { durationSeconds: plan.durationSeconds })
      }
      await unit.succeed(succeeded(plan, assumed, false))
      return answer(plan.role, assumed)
    },
    withGrants,
  )
}

async function authorizeRole(
  s: Services,
  unit: AuditedUnit,
  workload: Workload,
  instanceId: string,
  arn: string,
  asked: number | undefined,
): Promise<Plan | Refusal> {
  const role = await authorize<RoleWithAccount>(unit, workload, {
    instanceId,
    scopes: ['cloud_account_role:obtain_access_credential'],
    resourceType: 'cloud_account_role',
    action: 'obtain',
    noun: 'cloud account role',
    ref: arn,
    find: async () => {
      const found = await roleByArn.first(s.store, unit.trx, { instanceId, arn })
      return found === undefined ? undefined : roleWithAccount(found)
    },
    matchAs: (found) => ({ id: found?.id ?? '', identifier: found?.role_arn ?? arn }),
    notFound: () => cloudAccountRoleNotFound(arn),
    disabledCode: 'CloudAccountRoleDisabled',
  })
  if (role instanceof Refusal) return role
  const { account } = role
  if (account.status !== 'enabled')
    return unit.refuse(
      new PamError('CloudAccountDisabled', `the cloud account ${account.name} of role ${arn} is disabled`),
      'cloud_account_disabled',
      { cloudAccountId: account.id },
    )
  const max = Number(role.max_duration)
  const durationSeconds = asked ?? Number(role.default_duration)
  if (durationSeconds > max)
    return unit.refuse(
      new InvalidParameter(
        'durationSeconds',
        `must be at most ${max}, the maximum of role ${arn}`,
        'InvalidParameter.DurationSeconds',
      ),
      'duration_above_maximum',
      { maxDurationSeconds: max },
    )
  const key = [
    workload.applicationId,
    role.id,
    role.updated_at,
    account.id,
    account.current_version,
    account.updated_at,
    durationSeconds,
  ].join('\n')
  return { role, durationSeconds, key }
}

/** Splits the joined row back into the role and its account (the `a_` columns). */
function roleWithAccount(found: NonNullable<Awaited<ReturnType<typeof roleByArn.first>>>): RoleWithAccount {
  const { ciphertext, key_version, ...row } = found
  const account: CloudAccountTable = {
    id: row.cloud_account_id,
    instance_id: row.instance_id,
    name: row.a_name,
    description: row.a_description,
    vendor: row.a_vendor,
    vendor_account_id: row.a_vendor_account_id,
    access_key_hint: row.a_access_key_hint,
    sts_endpoint: row.a_sts_endpoint,
    region: row.a_region,
    status: row.a_status,
    current_version: row.a_current_version,
    created_at: row.a_created_at,
    updated_at: row.a_updated_at,
  }
  const role: CloudAccountRoleTable = {
    id: row.id,
    instance_id: row.instance_id,
    cloud_account_id: row.cloud_account_id,
    role_arn: row.role_arn,
    name: row.name,
    description: row.description,
    status: row.status,
    default_duration: row.default_duration,
    max_duration: row.max_duration,
    session_policy: row.session_policy,
    aws_external_id: row.aws_external_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
  const sealed = ciphertext !== null && key_version !== null ? { ciphertext, key_version } : undefined
  return { ...role, account, sealed }
}

/** Opens the account's current key pair (only the caller that starts the shared STS call does). */
async function assumeRoleRequest(s: Services, workload: Workload, plan: Plan): Promise<AssumeRoleRequest> {
  const { role } = plan
  const { account } = role
  const version = Number(account.current_version)
  if (!role.sealed)
    throw new IntegrityError(`cloud account ${account.id} has no stored key version ${version}`)
  const plaintext = await s.keyring.decrypt(s.store.db, cloudKeyBinding(account, version), {
    ciphertext: role.sealed.ciphertext,
    keyVersion: role.sealed.key_version,
  })
  const key = JSON.parse(plaintext.toString('utf8')) as CloudAccessKey
  return {
    vendor: account.vendor,
    endpoint: stsEndpointOf(account),
    region: account.region ?? undefined,
    accessKeyId: key.accessKeyId,
    accessKeySecret: key.accessKeySecret,
    roleArn: role.role_arn,
    roleSessionName: roleSessionName(workload.clientId),
    durationSeconds: plan.durationSeconds,
    policy: role.session_policy ?? undefined,
    externalId: role.aws_external_id ?? undefined,
  }
}

/** The success event: what was handed out, never a key, a secret or a token. */
function succeeded(plan: Plan, assumed: AssumedRole, reused: boolean) {
  return {
    cloudAccountId: plan.role.account.id,
    durationSeconds: plan.durationSeconds,
    assumedRoleId: assumed.assumedRoleId,
    expiresAt: Math.floor(assumed.expiration / 1000),
    reused,
    ...(assumed.requestId === undefined ? {} : { stsRequestId: assumed.requestId }),
  }
}

/** `YYYY-MM-DDTHH:MM:SSZ`: the Python consumer libraries refuse fractional seconds. */
const isoSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')

function answer(role: RoleWithAccount, assumed: AssumedRole): ObtainedCloudAccessCredential {
  const expiration = isoSeconds(assumed.expiration)
  return {
    cloudAccountId: role.account.id,
    cloudAccountRoleExternalId: role.role_arn,
    cloudAccountRoleId: role.id,
    cloudAccountRoleName: role.name,
    cloudAccountVendorType: role.account.vendor,
    cloudAccountRoleAccessCredential: {
      accessCredentialExpiresAt: Math.floor(assumed.expiration / 1000),
      ...(role.account.vendor === 'aws'
        ? {
            awsStsToken: {
              accessKeyId: assumed.accessKeyId,
              secretAccessKey: assumed.accessKeySecret,
              sessionToken: assumed.securityToken,
              expiration,
            },
          }
        : {
            alibabaCloudStsToken: {
              accessKeyId: assumed.accessKeyId,
              accessKeySecret: assumed.accessKeySecret,
              securityToken: assumed.securityToken,
              expiration,
            },
          }),
    },
  }
}
