import { type Static, Type } from '@sinclair/typebox'
import { Description, EpochMillis, Name, PageQuery, page, resourceId, Status } from './common.js'
import { InstanceId } from './instances.js'

// Cloud accounts and their roles (docs/wire-contract.md, "Cloud credentials"). A cloud account
// keeps a vendor's long-lived access key pair sealed; a role of it (its external id is the role's
// ARN) is what a workload is granted (`cloud_account_role`, action `obtain`) and asks short-lived
// STS credentials for. Administrators manage both under `/admin/v1/instances/{i}/cloudAccounts`;
// workloads call ObtainCloudAccountRoleAccessCredential under `/v2/{i}/cloudAccountRoles`.

const closed = { additionalProperties: false } as const

export const CloudAccountId = resourceId('ca')
export const CloudAccountRoleId = resourceId('car')

export const CLOUD_VENDORS = ['alibaba_cloud', 'aws'] as const
export type CloudVendor = (typeof CLOUD_VENDORS)[number]
export const CloudVendorType = Type.Union(CLOUD_VENDORS.map((v) => Type.Literal(v)))

/** What the vendor's STS accepts as a session's lifetime, in seconds. */
export const MIN_STS_DURATION_SECONDS = 900
export const MAX_STS_DURATION_SECONDS = 43_200
export const DEFAULT_STS_DURATION_SECONDS = 3600
export const StsDurationSeconds = Type.Integer({
  minimum: MIN_STS_DURATION_SECONDS,
  maximum: MAX_STS_DURATION_SECONDS,
  description: 'seconds, 900–43200',
})

/** An administrator's name for a cloud account (`prod-aws`): letters, digits and `._-`. */
export const CloudAccountName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
})
/** A cloud account by id (`ca_…`) or name. */
export const CloudAccountRef = Type.String({ minLength: 1, maxLength: 64 })
/** A role by id (`car_…`), name or external id (its ARN, URL-encoded in a path). */
export const CloudAccountRoleRef = Type.String({ minLength: 1, maxLength: 2048 })

/**
 * The vendor's id of the account: an Alibaba Cloud account's UID (digits) or an AWS account id
 * (12 digits). Checked against the vendor by the server.
 */
export const VendorAccountId = Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9]+$' })

/** An access key id as the vendors issue them (`LTAI…`, `AKIA…`): letters and digits. */
export const AccessKeyId = Type.String({ minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9]+$' })
/** The key's secret: printable ASCII, no spaces. Sealed at rest, never answered again. */
export const AccessKeySecret = Type.String({ minLength: 8, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' })

/**
 * An STS endpoint: `https://host[:port]` (plain http only on a loopback address). Null or left
 * out: the vendor's public endpoint (`https://sts.aliyuncs.com`, or for AWS the regional
 * `https://sts.{region}.amazonaws.com`, `https://sts.amazonaws.com` without a region).
 */
export const StsEndpoint = Type.String({ minLength: 8, maxLength: 512 })
/** A vendor region id (`cn-hangzhou`, `eu-west-1`). */
export const CloudRegion = Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$' })

/** A cloud account as administrators see it: never its access key secret. */
export const CloudAccount = Type.Object({
  cloudAccountId: CloudAccountId,
  instanceId: InstanceId,
  name: CloudAccountName,
  description: Description,
  vendorType: CloudVendorType,
  vendorAccountId: VendorAccountId,
  /** The current access key id's first 4 and last 4 characters, to tell keys apart in the cloud's console. */
  accessKeyIdHint: Type.String(),
  stsEndpoint: Type.Union([StsEndpoint, Type.Null()]),
  region: Type.Union([CloudRegion, Type.Null()]),
  status: Status,
  /** The version of the sealed key pair: 1 at creation, one more per rotation. */
  keyVersion: Type.Integer({ minimum: 1 }),
  createTime: EpochMillis,
  updateTime: EpochMillis,
})
export type CloudAccount = Static<typeof CloudAccount>
export const CloudAccountPage = page(CloudAccount)
export type CloudAccountPage = Static<typeof CloudAccountPage>

export const CreateCloudAccountBody = Type.Object(
  {
    name: CloudAccountName,
    vendorType: CloudVendorType,
    vendorAccountId: VendorAccountId,
    accessKeyId: AccessKeyId,
    accessKeySecret: AccessKeySecret,
    description: Type.Optional(Description),
    stsEndpoint: Type.Optional(StsEndpoint),
    region: Type.Optional(CloudRegion),
  },
  closed,
)
export type CreateCloudAccountBody = Static<typeof CreateCloudAccountBody>

/** Description, endpoint and region; `null` puts the endpoint or region back to the vendor's default. */
export const UpdateCloudAccountBody = Type.Object(
  {
    description: Type.Optional(Description),
    stsEndpoint: Type.Optional(Type.Union([StsEndpoint, Type.Null()])),
    region: Type.Optional(Type.Union([CloudRegion, Type.Null()])),
  },
  { ...closed, minProperties: 1 },
)
export type UpdateCloudAccountBody = Static<typeof UpdateCloudAccountBody>

/** Rotation: a new key pair becomes current; the old one is kept sealed for the record. */
export const RotateCloudAccountKeyBody = Type.Object(
  { accessKeyId: AccessKeyId, accessKeySecret: AccessKeySecret },
  closed,
)
export type RotateCloudAccountKeyBody = Static<typeof RotateCloudAccountKeyBody>

export const CloudAccountListQuery = Type.Object(
  { ...PageQuery, namePrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  closed,
)
export type CloudAccountListQuery = Static<typeof CloudAccountListQuery>

// ---- roles ------------------------------------------------------------------------------------

/**
 * A role's ARN: `acs:ram::<uid>:role/<name>` (Alibaba Cloud) or `arn:aws:iam::<account>:role/<path/name>`
 * (AWS), matching the account's vendor and vendor account id (checked by the server).
 */
export const RoleExternalId = Type.String({ minLength: 10, maxLength: 2048 })
/** AWS `ExternalId` (2–1224 characters of `\w+=,.@:/-`). */
export const RoleExternalIdCondition = Type.String({
  minLength: 2,
  maxLength: 1224,
  pattern: '^[\\w+=,.@:/-]+$',
})
/** A session policy (a JSON policy document), at most 2048 characters as both vendors allow. */
export const SessionPolicy = Type.String({ minLength: 2, maxLength: 2048 })
export const RoleName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\w+=,.@-]+$' })

export const CloudAccountRole = Type.Object({
  cloudAccountRoleId: CloudAccountRoleId,
  cloudAccountId: CloudAccountId,
  instanceId: InstanceId,
  /** The role's ARN. */
  roleExternalId: RoleExternalId,
  name: Name,
  description: Description,
  status: Status,
  defaultDurationSeconds: StsDurationSeconds,
  maxDurationSeconds: StsDurationSeconds,
  sessionPolicy: Type.Union([SessionPolicy, Type.Null()]),
  /** AWS only: the `ExternalId` the role's trust policy requires. */
  externalId: Type.Union([RoleExternalIdCondition, Type.Null()]),
  createTime: EpochMillis,
  updateTime: EpochMillis,
})
export type CloudAccountRole = Static<typeof CloudAccountRole>
export const CloudAccountRolePage = page(CloudAccountRole)
export type CloudAccountRolePage = Static<typeof CloudAccountRolePage>

export const AddCloudAccountRoleBody = Type.Object(
  {
    roleExternalId: RoleExternalId,
    /** Default: the role name in the ARN. */
    name: Type.Optional(RoleName),
    description: Type.Optional(Description),
    /** Default 3600, at most `maxDurationSeconds`. */
    defaultDurationSeconds: Type.Optional(StsDurationSeconds),
    /** Default 3600 (the clouds' own default for a role), or `defaultDurationSeconds` when that is higher. */
    maxDurationSeconds: Type.Optional(StsDurationSeconds),
    sessionPolicy: Type.Optional(SessionPolicy),
    externalId: Type.Optional(RoleExternalIdCondition),
  },
  closed,
)
export type AddCloudAccountRoleBody = Static<typeof AddCloudAccountRoleBody>

/** Any field but the ARN; `null` removes the session policy or the external id. */
export const UpdateCloudAccountRoleBody = Type.Object(
  {
    name: Type.Optional(RoleName),
    description: Type.Optional(Description),
    defaultDurationSeconds: Type.Optional(StsDurationSeconds),
    maxDurationSeconds: Type.Optional(StsDurationSeconds),
    sessionPolicy: Type.Optional(Type.Union([SessionPolicy, Type.Null()])),
    externalId: Type.Optional(Type.Union([RoleExternalIdCondition, Type.Null()])),
  },
  { ...closed, minProperties: 1 },
)
export type UpdateCloudAccountRoleBody = Static<typeof UpdateCloudAccountRoleBody>

export const CloudAccountRoleListQuery = Type.Object({ ...PageQuery }, closed)
export type CloudAccountRoleListQuery = Static<typeof CloudAccountRoleListQuery>

// ---- ObtainCloudAccountRoleAccessCredential (`/v2/{i}/cloudAccountRoles`) -----------------------

/**
 * `GET /v2/{i}/cloudAccountRoles/_/actions/obtainAccessCredential`. The official clients send no
 * `durationSeconds`: the role's default applies. Fields this version does not know are ignored.
 */
export const ObtainCloudAccessCredentialQuery = Type.Object(
  {
    cloudAccountRoleExternalId: RoleExternalId,
    /** A query string carries text: digits only, checked against 900–43200 and the role's maximum. */
    durationSeconds: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
  },
  { additionalProperties: true },
)
export type ObtainCloudAccessCredentialQuery = Static<typeof ObtainCloudAccessCredentialQuery>

/** Expirations are `YYYY-MM-DDTHH:MM:SSZ`: the Python consumer libraries refuse fractional seconds. */
const IsoSeconds = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$' })

export const AlibabaCloudStsToken = Type.Object({
  accessKeyId: Type.String(),
  accessKeySecret: Type.String(),
  securityToken: Type.String(),
  expiration: IsoSeconds,
})
export type AlibabaCloudStsToken = Static<typeof AlibabaCloudStsToken>

export const AwsStsToken = Type.Object({
  accessKeyId: Type.String(),
  secretAccessKey: Type.String(),
  sessionToken: Type.String(),
  expiration: IsoSeconds,
})
export type AwsStsToken = Static<typeof AwsStsToken>

export const ObtainedCloudAccessCredential = Type.Object({
  cloudAccountId: CloudAccountId,
  cloudAccountRoleExternalId: Type.String(),
  cloudAccountRoleId: CloudAccountRoleId,
  cloudAccountRoleName: Type.String(),
  cloudAccountVendorType: CloudVendorType,
  cloudAccountRoleAccessCredential: Type.Object({
    /** Epoch seconds. */
    accessCredentialExpiresAt: Type.Integer(),
    /** The vendor's own shape: exactly one of the two is present. */
    alibabaCloudStsToken: Type.Optional(AlibabaCloudStsToken),
    awsStsToken: Type.Optional(AwsStsToken),
  }),
})
export type ObtainedCloudAccessCredential = Static<typeof ObtainedCloudAccessCredential>
