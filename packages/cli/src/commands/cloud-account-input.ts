import type {
  CloudVendor,
  MAX_STS_DURATION_SECONDS,
  MIN_STS_DURATION_SECONDS,
  UpdateCloudAccountBody,
  UpdateCloudAccountRoleBody,
} from '@strongroom/protocol'
import { InvalidArgumentError, Option } from 'commander'
import { compact } from '../compact.js'
import { type Context, segment } from '../context.js'
import { CliError, UsageError } from '../errors.js'
import { readAll, readSecretFile, readSecretInput, readTextFile } from '../read-secret.js'

// What `cloud-account …` reads and checks before anything is sent, and where it sends it. The
// protocol's values are named by type only, so the CLI does not load its schemas at run time; the
// compiler keeps the two in step.

/** `{i}/cloudAccounts[/:cloudAccount]`, where `:cloudAccount` is an id (`ca_…`) or a name. */
export function cloudAccountPath(ctx: Context, cloudAccount?: string): Promise<string> {
  return ctx.instancePath(
    cloudAccount === undefined ? '/cloudAccounts' : `/cloudAccounts/${segment(cloudAccount)}`,
  )
}

export const CLOUD_ACCOUNT_ARGUMENT = ['<cloud-account>', 'the cloud account id (ca_…) or name'] as const

/** Every vendor, with the name people know it by: a `Record` so none is missed. */
const VENDOR_NAMES: Record<CloudVendor, string> = { alibaba_cloud: 'Alibaba Cloud', aws: 'AWS' }
export const CLOUD_VENDORS = Object.keys(VENDOR_NAMES) as CloudVendor[]

/** What the vendors' STS accepts as a session's lifetime. */
export const MIN_DURATION: typeof MIN_STS_DURATION_SECONDS = 900
export const MAX_DURATION: typeof MAX_STS_DURATION_SECONDS = 43_200

/** A session lifetime in whole seconds, 900–43200, refused as a usage error (exit 2) before sending. */
export function parseStsDuration(text: string): number {
  const seconds = Number(text)
  if (!/^\d+$/.test(text) || seconds < MIN_DURATION || seconds > MAX_DURATION) {
    throw new InvalidArgumentError(
      `expected whole seconds from ${MIN_DURATION} to ${MAX_DURATION} (15 minutes to 12 hours)`,
    )
  }
  return seconds
}

export const accessKeySecretFileOption = () =>
  new Option(
    '--access-key-secret-file <path>',
    'read the access key secret from PATH, or - for stdin (default: stdin, or a hidden prompt on a terminal)',
  )

/**
 * The access key secret: from `--access-key-secret-file PATH`, from stdin (`-`, or when stdin is
 * not a terminal), else a hidden prompt. Never from an argument; kept out of any error line.
 */
export async function readAccessKeySecret(ctx: Context, file: string | undefined): Promise<string> {
  const secret =
    file === undefined || file === '-'
      ? await readSecretInput({
          file,
          stdin: ctx.io.stdin,
          stderr: ctx.io.stderr,
          prompt: 'Access key secret: ',
          what: 'access key secret',
        })
      : await readSecretFile(file, '--access-key-secret-file')
  ctx.rememberSecret(secret)
  return secret
}

/** A session policy (a JSON document) from PATH, or `-` for stdin; trailing blank lines dropped. */
export async function readSessionPolicy(ctx: Context, file: string): Promise<string> {
  const raw = file === '-' ? await readAll(ctx.io.stdin) : await readTextFile(file, '--session-policy-file')
  const policy = raw.trimEnd()
  if (policy === '') throw new CliError('InputInvalid', `--session-policy-file ${file} is empty`)
  return policy
}

/** `cloud-account update`'s options, as commander hands them over. */
export interface CloudAccountUpdateOptions {
  description?: string
  stsEndpoint?: string
  /** `--default-sts-endpoint`: back to the vendor's public endpoint. */
  defaultStsEndpoint?: boolean
  /** `--region R`, or false for `--no-region`. */
  region?: string | false
}

/** The PATCH body of `cloud-account update`: only what was given; `null` puts back the vendor's default. */
export function cloudAccountChanges(options: CloudAccountUpdateOptions): UpdateCloudAccountBody {
  const body = compact({
    description: options.description,
    stsEndpoint: options.defaultStsEndpoint === true ? null : options.stsEndpoint,
    region: options.region === false ? null : options.region,
  })
  if (Object.keys(body).length === 0) {
    throw new UsageError(
      'cloud-account update needs --description, --sts-endpoint, --default-sts-endpoint, --region or --no-region',
    )
  }
  return body
}

/** The options of `cloud-account role add|update`, as commander hands them over. */
export interface RoleOptions {
  name?: string
  description?: string
  defaultDuration?: number
  maxDuration?: number
  sessionPolicyFile?: string
  /** `--no-session-policy` (update): false when given. */
  sessionPolicy?: boolean
  /** `--external-id X`, or false for `--no-external-id` (update). */
  externalId?: string | false
}

/** Refuses, before anything is read or sent, a default lifetime above the maximum given with it. */
export function checkDurations(options: Pick<RoleOptions, 'defaultDuration' | 'maxDuration'>): void {
  const { defaultDuration, maxDuration } = options
  if (defaultDuration !== undefined && maxDuration !== undefined && defaultDuration > maxDuration) {
    throw new UsageError(
      `--default-duration (${defaultDuration}) must be at most --max-duration (${maxDuration})`,
    )
  }
}

/** The PATCH body of `cloud-account role update`: only what was given; `null` removes. */
export async function roleChanges(ctx: Context, options: RoleOptions): Promise<UpdateCloudAccountRoleBody> {
  checkDurations(options)
  const given = compact({
    name: options.name,
    description: options.description,
    defaultDurationSeconds: options.defaultDuration,
    maxDurationSeconds: options.maxDuration,
    sessionPolicy: options.sessionPolicy === false ? null : options.sessionPolicyFile,
    externalId: options.externalId === false ? null : options.externalId,
  })
  if (Object.keys(given).length === 0) {
    throw new UsageError(
      'cloud-account role update needs --name, --description, --default-duration, --max-duration, ' +
        '--session-policy-file, --no-session-policy, --external-id or --no-external-id',
    )
  }
  // Read last: a usage mistake is reported before stdin is waited for.
  if (typeof given.sessionPolicy === 'string') {
    return { ...given, sessionPolicy: await readSessionPolicy(ctx, given.sessionPolicy) }
  }
  return given
}

/** `--vendor`'s help: the vendors by the names people know them by (commander lists the choices). */
export const vendorHelp = () => `the cloud: ${Object.values(VENDOR_NAMES).join(' or ')}`
