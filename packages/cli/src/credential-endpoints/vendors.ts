import type { CloudCredentials, CloudVendor } from '@strongroom/sdk'
import { UsageError } from '../errors.js'
import { isoSeconds } from '../workload/cloud-credentials-output.js'

/**
 * What each vendor's own credential chain reads, as the libraries in node_modules do it:
 *
 * - **Alibaba Cloud** (`@alicloud/credentials` 2.4, `src/providers/uri.ts`): `ALIBABA_CLOUD_CREDENTIALS_URI`
 *   is fetched with a plain `GET`, no header; a 200 whose JSON has `AccessKeyId`, `AccessKeySecret`
 *   and `SecurityToken` is taken, `Expiration` parsed by `providers/time.ts` `parseUTC`
 *   (`YYYY-MM-DDTHH:MM:SSZ`, or with milliseconds); the older `uri_credential.ts` also wants
 *   `Code: "Success"`. The default chain (`providers/default.ts`, what `new Credential()` uses) tries
 *   environment keys, OIDC, the CLI profile (`~/.aliyun/config.json`), the profile file
 *   (`~/.alibabacloud/credentials`), the ECS metadata service, and only then the URI:
 *   `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true` removes the ECS link (`providers/ecs_ram_role.ts`
 *   throws in `build()`, so no request to 100.100.100.200 and no wait for its timeout) and
 *   `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true` the CLI profile (`providers/cli_profile.ts`).
 * - **AWS** (`@aws-sdk/credential-provider-node` `remoteProvider`, `@aws-sdk/credential-provider-http`
 *   `fromHttp`): with `AWS_CONTAINER_CREDENTIALS_FULL_URI` set, `GET` that URL with the header
 *   `Authorization: <AWS_CONTAINER_AUTHORIZATION_TOKEN>` (the value as is, no scheme); plain `http:`
 *   is accepted for 127.0.0.0/8, `[::1]`, `localhost` and the ECS/EKS link-local hosts
 *   (`fromHttp/checkUrl.js`); a 200 must be `{AccessKeyId, SecretAccessKey, Token, Expiration}`, all
 *   strings, `Expiration` RFC 3339 (`fromHttp/requestHelpers.js`). Its fallback
 *   `@smithy/credential-provider-imds` `fromContainerMetadata` reads the same variables and
 *   fields, for `localhost` and `127.0.0.1` only.
 */

export const ALIBABA_CREDENTIALS_URI = 'ALIBABA_CLOUD_CREDENTIALS_URI'
export const ALIBABA_ECS_METADATA_DISABLED = 'ALIBABA_CLOUD_ECS_METADATA_DISABLED'
export const ALIBABA_CLI_PROFILE_DISABLED = 'ALIBABA_CLOUD_CLI_PROFILE_DISABLED'
export const AWS_FULL_URI = 'AWS_CONTAINER_CREDENTIALS_FULL_URI'
export const AWS_AUTHORIZATION_TOKEN = 'AWS_CONTAINER_AUTHORIZATION_TOKEN'

/**
 * Variables that win over ours in each vendor's default chain: a child that inherits any of them
 * would not use the endpoint at all (or would send another token). `run --cloud-role` removes them.
 */
export const SHADOWING_VARIABLES: Readonly<Record<CloudVendor, readonly string[]>> = {
  alibaba_cloud: [
    'ALIBABA_CLOUD_ACCESS_KEY_ID',
    'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
    'ALIBABA_CLOUD_SECURITY_TOKEN',
    'ALIBABA_CLOUD_ROLE_ARN',
    'ALIBABA_CLOUD_OIDC_PROVIDER_ARN',
    'ALIBABA_CLOUD_OIDC_TOKEN_FILE',
    'ALIBABA_CLOUD_PROFILE',
    'ALIBABA_CLOUD_CREDENTIALS_FILE',
  ],
  aws: [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_ROLE_ARN',
    // fromHttp prefers the relative URI to the full one, and a token file to the token.
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  ],
}

export const VENDOR_NAMES: Readonly<Record<CloudVendor, string>> = {
  alibaba_cloud: 'Alibaba Cloud',
  aws: 'AWS',
}

/**
 * The vendor of a role, from its ARN, before any request: `acs:ram::<uid>:role/<name>` is Alibaba
 * Cloud's, `arn:<partition>:iam::<account>:role/<name>` AWS's. Anything else is a usage error.
 */
export function vendorOfRoleArn(arn: string): CloudVendor {
  if (/^acs:ram::[^:\s]+:role\/\S+$/i.test(arn)) return 'alibaba_cloud'
  if (/^arn:aws(-[a-z]+)*:iam::[^:\s]+:role\/\S+$/.test(arn)) return 'aws'
  throw new UsageError(
    `not a cloud role ARN: expected acs:ram::<uid>:role/<name> (Alibaba Cloud) or arn:aws:iam::<account>:role/<name> (AWS), got ${JSON.stringify(arn.slice(0, 160))}`,
  )
}

/** The 200 body `ALIBABA_CLOUD_CREDENTIALS_URI` answers (what an ECS RAM role's metadata answers too). */
export function alibabaCredentialsBody(credentials: CloudCredentials & { vendor: 'alibaba_cloud' }): string {
  return JSON.stringify({
    Code: 'Success',
    AccessKeyId: credentials.accessKeyId,
    AccessKeySecret: credentials.accessKeySecret,
    SecurityToken: credentials.securityToken,
    Expiration: isoSeconds(credentials.expiration),
  })
}

/** The 200 body an AWS container credentials endpoint answers. */
export function awsCredentialsBody(credentials: CloudCredentials & { vendor: 'aws' }): string {
  return JSON.stringify({
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    Token: credentials.sessionToken,
    Expiration: isoSeconds(credentials.expiration),
  })
}

/** The values of a credential that are secret (never logged; concealed by `run`). */
export function secretsOf(credentials: CloudCredentials): string[] {
  return credentials.vendor === 'aws'
    ? [credentials.secretAccessKey, credentials.sessionToken]
    : [credentials.accessKeySecret, credentials.securityToken]
}
