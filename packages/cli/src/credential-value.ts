import type { CredentialType, CredentialValue } from '@strongroom/protocol'
import { CliError, UsageError } from './errors.js'

/** The options that complete a value besides its secret part, each meaningful for one type only. */
export interface ValueOptions {
  clientId?: string | undefined
  username?: string | undefined
  passphraseFile?: string | undefined
  publicKeyFile?: string | undefined
}

/** The non-secret and secondary parts, once files have been read. */
export interface ValueExtras {
  clientId?: string | undefined
  username?: string | undefined
  passphrase?: string | undefined
  publicKey?: string | undefined
}

const OPTION_TYPES: Record<keyof ValueOptions, { flag: string; type: CredentialType }> = {
  clientId: { flag: '--client-id', type: 'oauth_client' },
  username: { flag: '--username', type: 'password' },
  passphraseFile: { flag: '--passphrase-file', type: 'ssh_key' },
  publicKeyFile: { flag: '--public-key-file', type: 'ssh_key' },
}

/** How each type's secret part is asked for and named. */
export const SECRET_INPUT: Record<CredentialType, { prompt: string; what: string; exact: boolean }> = {
  api_key: { prompt: 'API key: ', what: 'API key', exact: false },
  oauth_client: { prompt: 'Client secret: ', what: 'client secret', exact: false },
  password: { prompt: 'Password: ', what: 'password', exact: false },
  ssh_key: { prompt: 'SSH private key: ', what: 'SSH private key', exact: true },
}

/** Checks, before any secret is read, that the options fit the type. */
export function checkValueOptions(type: CredentialType, options: ValueOptions): void {
  for (const [key, { flag, type: forType }] of Object.entries(OPTION_TYPES)) {
    if (options[key as keyof ValueOptions] !== undefined && forType !== type) {
      throw new UsageError(`${flag} applies only to credentials of type ${forType}`)
    }
  }
  if (type === 'oauth_client' && (options.clientId === undefined || options.clientId === '')) {
    throw new UsageError('an oauth_client credential needs --client-id')
  }
}

/** The `value` object of the admin API for a type, from its secret part and extras. */
export function buildCredentialValue(
  type: CredentialType,
  secret: string,
  extras: ValueExtras = {},
): CredentialValue {
  switch (type) {
    case 'api_key':
      return { apiKey: secret }
    case 'oauth_client':
      if (extras.clientId === undefined) throw new UsageError('an oauth_client credential needs --client-id')
      return { clientId: extras.clientId, clientSecret: secret }
    case 'password':
      return extras.username === undefined
        ? { password: secret }
        : { password: secret, username: extras.username }
    case 'ssh_key':
      return {
        privateKey: secret,
        ...(extras.passphrase === undefined ? {} : { passphrase: extras.passphrase }),
        ...(extras.publicKey === undefined ? {} : { publicKey: extras.publicKey }),
      }
  }
}

const SECRET_FIELD: Record<CredentialType, string> = {
  api_key: 'apiKey',
  oauth_client: 'clientSecret',
  password: 'password',
  ssh_key: 'privateKey',
}

/** The secret part of a revealed value: the API key, client secret, password or private key. */
export function secretOf(revealed: { credentialType: string; value: Record<string, unknown> }): string {
  const field = Object.hasOwn(SECRET_FIELD, revealed.credentialType)
    ? SECRET_FIELD[revealed.credentialType as CredentialType]
    : undefined
  const secret = field === undefined ? undefined : revealed.value[field]
  if (typeof secret !== 'string') {
    throw new CliError(
      'InvalidResponse',
      `the server answered with a value this CLI cannot read for type ${revealed.credentialType}`,
    )
  }
  return secret
}
