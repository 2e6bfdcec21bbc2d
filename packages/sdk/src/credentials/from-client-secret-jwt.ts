import { clientSecretJwt } from './client-authentication.js'
import { clientCredentialsGrant } from './client-credentials-grant.js'
import type {
  CredentialProvider,
  GetTokenOptions,
  SecretSource,
  TokenEndpointOptions,
} from './credential-provider.js'
import { secretFromEnv } from './secret-from-env.js'

export interface FromClientSecretJwtOptions extends TokenEndpointOptions {
  clientSecret?: SecretSource | undefined
  clientSecretEnvVarName?: string | undefined
  env?: NodeJS.ProcessEnv | undefined
}

/**
 * Access tokens by client credentials, the client authenticated with an HS256 assertion keyed
 * with its secret (RFC 7523, `client_secret_jwt`): the secret itself never travels.
 */
export function fromClientSecretJwt(options: FromClientSecretJwtOptions): CredentialProvider {
  const authenticate = clientSecretJwt(
    secretFromEnv(options.clientSecret, options.clientSecretEnvVarName, options.env, {
      provider: 'fromClientSecretJwt',
      option: 'clientSecret',
    }),
  )
  return {
    name: 'fromClientSecretJwt',
    cacheable: true,
    getToken: (o: GetTokenOptions = {}) => clientCredentialsGrant(options, authenticate, o.signal),
  }
}
