import type { CloudAccount, CloudAccountRole, CloudVendor } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { Binding } from '../../crypto/keyring.js'
import { InvalidParameter, NotFound } from '../../errors.js'
import type { CloudAccountRoleTable, CloudAccountTable, Database } from '../../store/schema.js'
import { checkOutboundEndpoint } from '../outbound-endpoint.js'

export const CLOUD_ACCOUNT_ID = /^ca_[0-9a-z]{26}$/
export const CLOUD_ACCOUNT_ROLE_ID = /^car_[0-9a-z]{26}$/

/** The long-lived key pair of one version, sealed together as one JSON ciphertext. */
export interface CloudAccessKey {
  accessKeyId: string
  accessKeySecret: string
}

/** First and last four characters: enough to tell keys apart in the cloud's console, not to use one. */
export const accessKeyHint = (accessKeyId: string) => `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`

/**
 * The AEAD binding of one version's key pair: a ciphertext moved to another cloud account, version
 * or instance no longer decrypts.
 */
export const cloudKeyBinding = (
  row: Pick<CloudAccountTable, 'instance_id' | 'id'>,
  version: number,
): Binding => ({
  instanceId: row.instance_id,
  table: 'cloud_account_keys',
  recordId: row.id,
  field: 'access_key',
  version,
})

export function toCloudAccount(row: CloudAccountTable): CloudAccount {
  return {
    cloudAccountId: row.id,
    instanceId: row.instance_id,
    name: row.name,
    description: row.description,
    vendorType: row.vendor,
    vendorAccountId: row.vendor_account_id,
    accessKeyIdHint: row.access_key_hint,
    stsEndpoint: row.sts_endpoint,
    region: row.region,
    status: row.status,
    keyVersion: Number(row.current_version),
    createTime: Number(row.created_at),
    updateTime: Number(row.updated_at),
  }
}

export function toCloudAccountRole(row: CloudAccountRoleTable): CloudAccountRole {
  return {
    cloudAccountRoleId: row.id,
    cloudAccountId: row.cloud_account_id,
    instanceId: row.instance_id,
    roleExternalId: row.role_arn,
    name: row.name,
    description: row.description,
    status: row.status,
    defaultDurationSeconds: Number(row.default_duration),
    maxDurationSeconds: Number(row.max_duration),
    sessionPolicy: row.session_policy,
    externalId: row.aws_external_id,
    createTime: Number(row.created_at),
    updateTime: Number(row.updated_at),
  }
}

export const cloudAccountNotFound = (ref: string) =>
  new NotFound('CloudAccountNotFound', `cloud account ${ref} does not exist`)
export const cloudAccountRoleNotFound = (ref: string) =>
  new NotFound('CloudAccountRoleNotFound', `cloud account role ${ref} does not exist`)

/** The cloud account named by id (`ca_…`) or name within an instance, or undefined. */
export function findCloudAccount(
  db: Kysely<Database>,
  instanceId: string,
  ref: string,
): Promise<CloudAccountTable | undefined> {
  return db
    .selectFrom('cloud_accounts')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where(CLOUD_ACCOUNT_ID.test(ref) ? 'id' : 'name', '=', ref)
    .executeTakeFirst()
}

// ---- the vendors' rules ----------------------------------------------------------------------

/** AWS account ids are 12 digits; an Alibaba Cloud UID is digits (16 today). */
export function checkVendorAccountId(vendor: CloudVendor, id: string): void {
  if (vendor === 'aws' && !/^\d{12}$/.test(id))
    throw new InvalidParameter('vendorAccountId', 'must be the 12 digits of an AWS account id')
  if (vendor === 'alibaba_cloud' && !/^\d{5,20}$/.test(id))
    throw new InvalidParameter('vendorAccountId', 'must be the digits of an Alibaba Cloud account UID')
}

const ALIBABA_ROLE_ARN = /^acs:ram::(\d+):role\/([A-Za-z0-9.-]{1,64})$/
const AWS_ROLE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/

/**
 * Checks a role ARN against the account's vendor and id, and answers the role's name in it.
 * `acs:ram::<uid>:role/<name>` for Alibaba Cloud, `arn:aws:iam::<account>:role/[path/]<name>` for AWS.
 */
export function roleNameInArn(account: Pick<CloudAccountTable, 'vendor' | 'vendor_account_id'>, arn: string) {
  const code = 'InvalidParameter.RoleExternalId'
  if (account.vendor === 'alibaba_cloud') {
    const match = ALIBABA_ROLE_ARN.exec(arn)
    if (!match)
      throw new InvalidParameter(
        'roleExternalId',
        'must be an Alibaba Cloud role ARN, acs:ram::<uid>:role/<name>',
        code,
      )
    if (match[1] !== account.vendor_account_id)
      throw new InvalidParameter(
        'roleExternalId',
        `must name a role of account ${account.vendor_account_id}`,
        code,
      )
    return match[2]!
  }
  const match = AWS_ROLE_ARN.exec(arn)
  if (!match)
    throw new InvalidParameter(
      'roleExternalId',
      'must be an AWS role ARN, arn:aws:iam::<account>:role/<name>',
      code,
    )
  if (match[2] !== account.vendor_account_id)
    throw new InvalidParameter(
      'roleExternalId',
      `must name a role of account ${account.vendor_account_id}`,
      code,
    )
  return match[4]!
}

/** An STS endpoint is an origin: https (http only on loopback), no path, query or credentials. */
export function checkStsEndpoint(value: string): string {
  const url = checkOutboundEndpoint(value, 'stsEndpoint')
  if (url.pathname !== '/' || url.search !== '')
    throw new InvalidParameter(
      'stsEndpoint',
      'must be an origin (scheme, host and port), with no path or query',
    )
  return url.origin
}

/**
 * The endpoint a call goes to: the configured one, else the vendor's public STS (regional where a
 * region is set: Alibaba `sts.{region}.aliyuncs.com`, AWS `sts.{region}.amazonaws.com`).
 */
export function stsEndpointOf(row: Pick<CloudAccountTable, 'vendor' | 'sts_endpoint' | 'region'>): string {
  if (row.sts_endpoint !== null) return row.sts_endpoint
  if (row.vendor === 'alibaba_cloud')
    return row.region === null ? 'https://sts.aliyuncs.com' : `https://sts.${row.region}.aliyuncs.com`
  if (row.region === null) return 'https://sts.amazonaws.com'
  return `https://sts.${row.region}.amazonaws.com${row.region.startsWith('cn-') ? '.cn' : ''}`
}
