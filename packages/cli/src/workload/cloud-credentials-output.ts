import type { CloudCredentials } from '@strongroom/sdk'
import { InvalidArgumentError } from 'commander'
import { UsageError } from '../errors.js'
import { toJson } from '../safe-text.js'

/**
 * How `strongroom get cloud-credentials` prints a role's STS credentials:
 * - `json`: `{ vendor, accessKeyId, secretAccessKey|accessKeySecret, sessionToken|securityToken, expiration }`;
 * - `env`: `NAME=value` lines, quoted for `sh` where needed, with the names the vendors' own
 *   libraries read (`AWS_ACCESS_KEY_ID`… as `@aws-sdk/credential-provider-env` does,
 *   `ALIBABA_CLOUD_ACCESS_KEY_ID`… as `@alicloud/credentials` does); no `export`, so
 *   `set -a; eval "$(…)"; set +a` or an env file takes them;
 * - `aws-process`: the JSON an AWS `credential_process` prints (Version 1), AWS roles only.
 */
export const CLOUD_CREDENTIAL_FORMATS = ['json', 'env', 'aws-process'] as const
export type CloudCredentialFormat = (typeof CLOUD_CREDENTIAL_FORMATS)[number]

/** What the vendors' STS accept as a session's lifetime. */
const MIN_DURATION = 900
const MAX_DURATION = 43_200

/** `--duration`: a whole number of seconds, 900–43200 (commander makes a refusal exit 2). */
export function parseCloudDuration(text: string): number {
  const seconds = Number(text)
  if (!/^\d+$/.test(text) || seconds < MIN_DURATION || seconds > MAX_DURATION)
    throw new InvalidArgumentError(
      `expected a whole number of seconds from ${MIN_DURATION} to ${MAX_DURATION}`,
    )
  return seconds
}

/** `YYYY-MM-DDTHH:MM:SSZ`, as the wire contract and the vendors write an STS expiration. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** The secret values, for the run to keep out of any error line. */
export function cloudCredentialSecrets(credentials: CloudCredentials): string[] {
  return credentials.vendor === 'aws'
    ? [credentials.secretAccessKey, credentials.sessionToken]
    : [credentials.accessKeySecret, credentials.securityToken]
}

/** `--format json`: the credentials alone, in the vendor's own field names. */
export function cloudCredentialsJson(credentials: CloudCredentials): string {
  const shown =
    credentials.vendor === 'aws'
      ? {
          vendor: credentials.vendor,
          accessKeyId: credentials.accessKeyId,
          secretAccessKey: credentials.secretAccessKey,
          sessionToken: credentials.sessionToken,
          expiration: isoSeconds(credentials.expiration),
        }
      : {
          vendor: credentials.vendor,
          accessKeyId: credentials.accessKeyId,
          accessKeySecret: credentials.accessKeySecret,
          securityToken: credentials.securityToken,
          expiration: isoSeconds(credentials.expiration),
        }
  return toJson(shown, 2)
}

/** `--json`: the whole ObtainCloudAccountRoleAccessCredential answer, as the server sent it. */
export function cloudCredentialsAnswerJson(credentials: CloudCredentials): string {
  const expiration = isoSeconds(credentials.expiration)
  const token =
    credentials.vendor === 'aws'
      ? {
          awsStsToken: {
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: credentials.secretAccessKey,
            sessionToken: credentials.sessionToken,
            expiration,
          },
        }
      : {
          alibabaCloudStsToken: {
            accessKeyId: credentials.accessKeyId,
            accessKeySecret: credentials.accessKeySecret,
            securityToken: credentials.securityToken,
            expiration,
          },
        }
  const answer = {
    cloudAccountId: credentials.cloudAccountId,
    cloudAccountRoleExternalId: credentials.cloudAccountRoleExternalId,
    cloudAccountRoleId: credentials.cloudAccountRoleId,
    cloudAccountRoleName: credentials.cloudAccountRoleName,
    cloudAccountVendorType: credentials.vendor,
    cloudAccountRoleAccessCredential: { accessCredentialExpiresAt: credentials.expiresAt, ...token },
  }
  return toJson(answer, 2)
}

/**
 * A value as one `sh` word: as it is when it holds only characters no shell treats specially
 * (what Python's `shlex.quote` leaves alone; STS keys and tokens are base64, so usually this),
 * else in single quotes, a `'` inside written `'\''`.
 */
export function shellQuote(value: string): string {
  if (value !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value
  return `'${value.replaceAll("'", `'\\''`)}'`
}

/** `--format env`: one `NAME=value` line per variable the vendor's SDKs read. */
export function cloudCredentialsEnv(credentials: CloudCredentials): string {
  const variables: [string, string][] =
    credentials.vendor === 'aws'
      ? [
          ['AWS_ACCESS_KEY_ID', credentials.accessKeyId],
          ['AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey],
          ['AWS_SESSION_TOKEN', credentials.sessionToken],
          ['AWS_CREDENTIAL_EXPIRATION', isoSeconds(credentials.expiration)],
        ]
      : [
          ['ALIBABA_CLOUD_ACCESS_KEY_ID', credentials.accessKeyId],
          ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', credentials.accessKeySecret],
          ['ALIBABA_CLOUD_SECURITY_TOKEN', credentials.securityToken],
        ]
  return variables.map(([name, value]) => `${name}=${shellQuote(value)}\n`).join('')
}

/**
 * `--format aws-process`: what an AWS `credential_process` prints, as `@aws-sdk/credential-provider-process`
 * and the AWS CLI read it. An Alibaba Cloud role has no such format: a usage error (exit 2).
 */
export function cloudCredentialsAwsProcess(credentials: CloudCredentials): string {
  if (credentials.vendor !== 'aws')
    throw new UsageError(
      `--format aws-process is for AWS roles: ${credentials.cloudAccountRoleExternalId} is an Alibaba Cloud role (use --format env or json)`,
    )
  return toJson({
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: isoSeconds(credentials.expiration),
  })
}

/** The text `get cloud-credentials` prints in `format`. */
export function formatCloudCredentials(credentials: CloudCredentials, format: CloudCredentialFormat): string {
  switch (format) {
    case 'env':
      return cloudCredentialsEnv(credentials)
    case 'aws-process':
      return cloudCredentialsAwsProcess(credentials)
    default:
      return cloudCredentialsJson(credentials)
  }
}
