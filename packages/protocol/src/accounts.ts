import { type Static, Type } from '@sinclair/typebox'
import { Description, EpochMillis, Name, PageQuery, page, Reason, resourceId, Status } from './common.js'
import { InstanceId } from './instances.js'

// Privileged accounts: strongroom's own API (docs/wire-contract.md, "What strongroom adds or does differently"). An account is
// named `TARGET/account` (`DB-SERVER/admin`), holds an optional password and an optional SSH private
// key, and may require a reason for every retrieval. Administrators manage accounts under
// `/admin/v1/instances/{i}/accounts`; workloads retrieve them under `/v2/{i}/accounts`.

const closed = { additionalProperties: false } as const

export const AccountId = resourceId('acct')

/**
 * `TARGET/account`: a target (host, database, system) and an account on it, one slash between.
 * Both parts start with a letter or digit; the target may hold `.`, `_`, `:` and `-`, the account
 * also `@` (`svc@corp`).
 */
export const AccountName = Type.String({
  minLength: 3,
  maxLength: 256,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*/[A-Za-z0-9][A-Za-z0-9._@-]*$',
  description: 'TARGET/account',
})
/** An account by its id (`acct_…`) or its name, in a path (URL-encode the slash) or a field. */
export const AccountRef = Type.String({ minLength: 1, maxLength: 256 })

const Password = Type.String({ minLength: 1, maxLength: 8192 })
/** An SSH private key's text: OpenSSH (`-----BEGIN OPENSSH PRIVATE KEY-----`) or PEM (PKCS#8, PKCS#1, SEC1). */
const SshKeyText = Type.String({ minLength: 1, maxLength: 65_536 })
const Passphrase = Type.String({ minLength: 1, maxLength: 1024 })
/**
 * The file name the key is usually kept under (`id_ed25519`): a plain name, no folder, and not
 * hidden (a leading dot), so that code writing the key under it never writes `.bashrc`; the SDK
 * leaves such a name out of what it answers too.
 */
const SshKeyFileName = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[^./\\\\\\x00-\\x1f][^/\\\\\\x00-\\x1f]*$',
  'x-rule': 'must be a plain file name: no folder, no control character, not starting with a dot',
})

/** An SSH private key as it is stored: the key text, its passphrase when encrypted, a file name. */
export const SshKeyInput = Type.Object(
  { key: SshKeyText, passphrase: Type.Optional(Passphrase), fileName: Type.Optional(SshKeyFileName) },
  closed,
)
export type SshKeyInput = Static<typeof SshKeyInput>

/** What is known of an account's SSH key without its secret: shown to administrators and in lists. */
export const SshKeyFacts = Type.Object({
  /** `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`… */
  keyType: Type.String(),
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  fingerprint: Type.String(),
  /** The OpenSSH public key line (`ssh-ed25519 AAAA…`). */
  publicKey: Type.String(),
  format: Type.Union([Type.Literal('openssh'), Type.Literal('pem')]),
  encrypted: Type.Boolean(),
  fileName: Type.Union([Type.String(), Type.Null()]),
})
export type SshKeyFacts = Static<typeof SshKeyFacts>

/** An account as administrators see it: never its password, key or passphrase. */
export const Account = Type.Object({
  accountId: AccountId,
  accountName: AccountName,
  /** The part before the slash. */
  target: Type.String(),
  /** The part after the slash. */
  account: Type.String(),
  displayName: Name,
  description: Description,
  instanceId: InstanceId,
  status: Status,
  requiresReason: Type.Boolean(),
  hasPassword: Type.Boolean(),
  hasKey: Type.Boolean(),
  /** Whether the server can decrypt the key and hand it out unencrypted (`decrypt: true`). */
  isKeySupported: Type.Boolean(),
  sshKey: Type.Union([SshKeyFacts, Type.Null()]),
  currentVersion: Type.Integer({ minimum: 1 }),
  createTime: EpochMillis,
  updateTime: EpochMillis,
})
export type Account = Static<typeof Account>
export const AccountPage = page(Account)
export type AccountPage = Static<typeof AccountPage>

export const CreateAccountBody = Type.Object(
  {
    accountName: AccountName,
    displayName: Type.Optional(Name),
    description: Type.Optional(Description),
    /** Whether every retrieval must give a reason (1–512 characters). Default false. */
    requiresReason: Type.Optional(Type.Boolean()),
    password: Type.Optional(Password),
    sshKey: Type.Optional(SshKeyInput),
  },
  closed,
)
export type CreateAccountBody = Static<typeof CreateAccountBody>

/** Name, description and policy; secrets change through a new version. */
export const UpdateAccountBody = Type.Object(
  {
    displayName: Type.Optional(Name),
    description: Type.Optional(Description),
    requiresReason: Type.Optional(Type.Boolean()),
  },
  { ...closed, minProperties: 1 },
)
export type UpdateAccountBody = Static<typeof UpdateAccountBody>

/**
 * A new version of an account's secrets. A field left out keeps its current value; `null` removes
 * it. At least one field.
 */
export const PutAccountVersionBody = Type.Object(
  {
    password: Type.Optional(Type.Union([Password, Type.Null()])),
    sshKey: Type.Optional(Type.Union([SshKeyInput, Type.Null()])),
  },
  { ...closed, minProperties: 1 },
)
export type PutAccountVersionBody = Static<typeof PutAccountVersionBody>

export const AccountVersion = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  current: Type.Boolean(),
  hasPassword: Type.Boolean(),
  hasKey: Type.Boolean(),
  createTime: EpochMillis,
  createdBy: Type.String(),
})
export type AccountVersion = Static<typeof AccountVersion>
export const AccountVersionPage = page(AccountVersion)
export type AccountVersionPage = Static<typeof AccountVersionPage>

export const AccountListQuery = Type.Object(
  {
    ...PageQuery,
    /** Only accounts whose name starts with this (`DB-SERVER/`). */
    namePrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  closed,
)
export type AccountListQuery = Static<typeof AccountListQuery>

// ---- retrieval by workloads (`/v2/{instanceId}/accounts`) -------------------------------------

/** An account in a workload's list: what it may ask for, never a secret. */
export const AccountSummary = Type.Object({
  /** The account's id (`acct_…`). */
  id: AccountId,
  /** `TARGET/account`: what `getPassword` and `getSshKey` take. */
  name: AccountName,
  displayName: Type.String(),
  status: Status,
  requiresReason: Type.Boolean(),
  hasPassword: Type.Boolean(),
  hasKey: Type.Boolean(),
  isKeySupported: Type.Boolean(),
})
export type AccountSummary = Static<typeof AccountSummary>
export const AccountSummaryPage = page(AccountSummary)
export type AccountSummaryPage = Static<typeof AccountSummaryPage>
export const ListAccountsQuery = Type.Object({ ...PageQuery }, { additionalProperties: true })
export type ListAccountsQuery = Static<typeof ListAccountsQuery>

/** `POST /v2/{i}/accounts/_/actions/obtainPassword`. */
export const ObtainPasswordBody = Type.Object(
  { accountName: AccountRef, reason: Type.Optional(Reason) },
  { additionalProperties: true },
)
export type ObtainPasswordBody = Static<typeof ObtainPasswordBody>
export const ObtainedPassword = Type.Object({
  accountId: AccountId,
  accountName: AccountName,
  version: Type.Integer({ minimum: 1 }),
  password: Type.String(),
})
export type ObtainedPassword = Static<typeof ObtainedPassword>

/**
 * How a decrypted SSH key is encoded: `pem` is unencrypted PKCS#8 (`-----BEGIN PRIVATE KEY-----`);
 * `openssh` is an unencrypted OpenSSH key (`-----BEGIN OPENSSH PRIVATE KEY-----`), which every
 * OpenSSH reads, where OpenSSH before 9.6 reads no Ed25519 key in PKCS#8.
 */
export const SSH_KEY_OUTPUT_FORMATS = ['pem', 'openssh'] as const
export const SshKeyOutputFormat = Type.Union(SSH_KEY_OUTPUT_FORMATS.map((f) => Type.Literal(f)))
export type SshKeyOutputFormat = Static<typeof SshKeyOutputFormat>

/**
 * `POST /v2/{i}/accounts/_/actions/obtainSshKey`. `decrypt: true` answers the private key
 * unencrypted, as PKCS#8 PEM or (`format: 'openssh'`) as an OpenSSH key; otherwise the key as
 * stored with its passphrase and file name. `format` without `decrypt: true` is refused (400): a key
 * as stored is answered in the format it was stored in.
 */
export const ObtainSshKeyBody = Type.Object(
  {
    accountName: AccountRef,
    reason: Type.Optional(Reason),
    decrypt: Type.Optional(Type.Boolean()),
    /** With `decrypt: true` only: the encoding of the decrypted key (default `pem`). */
    format: Type.Optional(SshKeyOutputFormat),
  },
  { additionalProperties: true },
)
export type ObtainSshKeyBody = Static<typeof ObtainSshKeyBody>
export const ObtainedSshKey = Type.Object({
  accountId: AccountId,
  accountName: AccountName,
  version: Type.Integer({ minimum: 1 }),
  decrypted: Type.Boolean(),
  /** `decrypt: true`: the private key unencrypted, in `format`. Otherwise the key text as stored. */
  key: Type.String(),
  /**
   * `decrypt: true` only: the encoding of `key`. A client that asked for `openssh` checks it, since a
   * server that predates `format` ignores the field and answers PEM.
   */
  format: Type.Optional(SshKeyOutputFormat),
  /** As stored only: the key's passphrase, null when it has none. */
  passphrase: Type.Union([Type.String(), Type.Null()]),
  fileName: Type.Union([Type.String(), Type.Null()]),
  keyType: Type.String(),
  fingerprint: Type.String(),
  publicKey: Type.String(),
})
export type ObtainedSshKey = Static<typeof ObtainedSshKey>
