import type { ClientConfig } from '../config/client-config.js'
import { CredentialProviderError } from '../errors.js'
import type { HttpClient } from '../http/http-client.js'
import type { CredentialProvider } from './credential-provider.js'
import { fromClientSecret } from './from-client-secret.js'
import { fromClientSecretJwt } from './from-client-secret-jwt.js'
import { fromOidcTokenFile } from './from-oidc-token-file.js'
import { fromPrivateKeyJwt } from './from-private-key-jwt.js'
import { tokenEndpointCall } from './token-endpoint-call.js'

export interface FromClientConfigOptions {
  http: HttpClient
  env?: NodeJS.ProcessEnv | undefined
  now?: (() => number) | undefined
}

/**
 * The provider an IDaaS client configuration describes (`authnConfiguration.authnMethod`), as the
 * official SDKs build it: secrets and keys come from the environment variables the file names,
 * read when a token is needed. PKCS7, PCA and plugin methods are refused clearly: strongroom's
 * server does not accept them either.
 */
export function fromClientConfig(config: ClientConfig, options: FromClientConfigOptions): CredentialProvider {
  const authn = config.authnConfiguration
  const base = {
    clientId: config.clientId,
    tokenEndpoint: config.tokenEndpoint,
    scope: config.scope,
    call: tokenEndpointCall(options.http, config.tokenEndpoint),
    now: options.now,
    env: options.env,
  }
  const need = (value: string | undefined, key: string): string => {
    if (value === undefined) {
      throw new CredentialProviderError(
        `${config.source}: authnConfiguration.${key} is required for ${authn.authnMethod}`,
      )
    }
    return value
  }
  switch (authn.authnMethod) {
    case 'CLIENT_SECRET_POST':
    case 'CLIENT_SECRET_BASIC':
      return fromClientSecret({
        ...base,
        clientSecretEnvVarName: need(authn.clientSecretEnvVarName, 'clientSecretEnvVarName'),
        method: authn.authnMethod === 'CLIENT_SECRET_BASIC' ? 'client_secret_basic' : 'client_secret_post',
      })
    case 'CLIENT_SECRET_JWT':
      return fromClientSecretJwt({
        ...base,
        clientSecretEnvVarName: need(authn.clientSecretEnvVarName, 'clientSecretEnvVarName'),
      })
    case 'PRIVATE_KEY_JWT':
      return fromPrivateKeyJwt({
        ...base,
        privateKeyEnvVarName: need(authn.privateKeyEnvVarName, 'privateKeyEnvVarName'),
      })
    case 'OIDC': {
      const name = need(authn.applicationFederatedCredentialName, 'applicationFederatedCredentialName')
      const env = options.env ?? process.env
      const fromEnv = authn.oidcTokenFilePathEnvVarName
      return fromOidcTokenFile({
        ...base,
        applicationFederatedCredentialName: name,
        ...(fromEnv !== undefined && env[fromEnv]
          ? { tokenFileEnvVarName: fromEnv }
          : { tokenFile: need(authn.oidcTokenFilePath, 'oidcTokenFilePath') }),
      })
    }
    default:
      throw new CredentialProviderError(
        `${config.source}: authnMethod ${authn.authnMethod} is not supported by this SDK; use CLIENT_SECRET_POST, CLIENT_SECRET_BASIC, CLIENT_SECRET_JWT, PRIVATE_KEY_JWT or OIDC`,
      )
  }
}
