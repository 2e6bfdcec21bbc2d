import type { AccessToken } from '../token-cache/access-token.js'
import { clientSecretBasic, clientSecretPost } from './client-authentication.js'
import { clientCredentialsGrant } from './client-credentials-grant.js'
import type {
  CredentialProvider,
  GetTokenOptions,
  SecretSource,
  TokenEndpointOptions,
} from './credential-provider.js'
import { secretFromEnv } from './secret-from-env.js'

export interface FromClientSecretOptions extends TokenEndpointOptions {
  /** The secret, or a function that reads it when a token is needed. */
  clientSecret?: SecretSource | undefined
  /** Or: the environment variable holding it, read at every token request (so a rotation applies). */
  clientSecretEnvVarName?: string | undefined
  /** `client_secret_post` (default) or `client_secret_basic`. */
  method?: 'client_secret_post' | 'client_secret_basic' | undefined
  env?: NodeJS.ProcessEnv | undefined
}

/**
 * Access tokens by client credentials, the client authenticated with its secret.
 *
 * @example
 * ```ts
 * const provider = fromClientSecret({
 *   clientId: 'app_…',
 *   tokenEndpoint: 'https://pam.example.com/v2/idaas_…/authorizationServer/iauths_system/oauth2/token',
 *   clientSecretEnvVarName: 'IDAAS_CLIENT_SECRET',
 *   call,
 * })
 * ```
 */
export function fromClientSecret(options: FromClientSecretOptions): CredentialProvider {
  const secret = secretFromEnv(options.clientSecret, options.clientSecretEnvVarName, options.env, {
    provider: 'fromClientSecret',
    option: 'clientSecret',
  })
  const authenticate =
    options.method === 'client_secret_basic' ? clientSecretBasic(secret) : clientSecretPost(secret)
  return {
    name: 'fromClientSecret',
    cacheable: true,
    getToken: (o: GetTokenOptions = {}): Promise<AccessToken> =>
      clientCredentialsGrant(options, authenticate, o.signal),
  }
}
