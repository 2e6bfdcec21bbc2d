import type { ClientConfig } from '../config/client-config.js'
import { NoConfigurationFile } from '../config/config-error.js'
import { loadClientConfig } from '../config/load-client-config.js'
import { CredentialProviderError } from '../errors.js'
import type { HttpClient } from '../http/http-client.js'
import type { AccessToken } from '../token-cache/access-token.js'
import type { CredentialProvider, GetTokenOptions } from './credential-provider.js'
import { fromClientConfig } from './from-client-config.js'
import { fromClientSecret } from './from-client-secret.js'
import { fromOidcTokenFile } from './from-oidc-token-file.js'
import { tokenEndpointCall } from './token-endpoint-call.js'

/** The environment variables the chain's environment links read. */
export const CREDENTIAL_ENV = {
  clientId: 'CLOUD_IDAAS_CLIENT_ID',
  clientSecret: 'CLOUD_IDAAS_CLIENT_SECRET',
  tokenEndpoint: 'CLOUD_IDAAS_TOKEN_ENDPOINT',
  scope: 'CLOUD_IDAAS_SCOPE',
  authnMethod: 'CLOUD_IDAAS_AUTHN_METHOD',
  oidcTokenFile: 'CLOUD_IDAAS_OIDC_TOKEN_FILE',
  federatedCredentialName: 'CLOUD_IDAAS_APPLICATION_FEDERATED_CREDENTIAL_NAME',
} as const

export interface FromDefaultChainOptions {
  /** Explicit credentials: the first link, used whenever given. */
  credentials?: CredentialProvider | undefined
  /** The HTTP client for the token endpoint (timeouts, CA bundle, proxy). */
  http: HttpClient
  env?: NodeJS.ProcessEnv | undefined
  /** The configuration file; else `CLOUD_IDAAS_CONFIG_PATH` or `~/.cloud_idaas/client-config.json`. */
  configPath?: string | undefined
  /** A configuration already loaded (by `createPamClient`), instead of reading the file again. */
  config?: ClientConfig | undefined
  now?: (() => number) | undefined
}

/** A link that does not apply here: the chain moves on and reports why. */
const notHere = (reason: string) => new CredentialProviderError(reason, { notConfigured: true })

interface Link {
  name: string
  resolve(): Promise<CredentialProvider>
}

/**
 * The default credential chain: explicit credentials → environment variables (client id, secret
 * and token endpoint) → an OIDC token file named by the environment → the IDaaS client
 * configuration file. The first link that applies is used for good. A link moves the chain on only
 * when it says "not configured here"; any other failure stops it (a configuration file that
 * exists but is wrong is an error, not a reason to try something else). When no link applies,
 * the error lists what each one tried and why.
 */
export function fromDefaultChain(options: FromDefaultChainOptions): CredentialProvider {
  const env = options.env ?? process.env
  const links: Link[] = [
    {
      name: 'explicit credentials',
      resolve: async () => options.credentials ?? Promise.reject(notHere('none were given')),
    },
    {
      name: 'environment',
      resolve: async () => {
        const missing = [
          CREDENTIAL_ENV.clientId,
          CREDENTIAL_ENV.clientSecret,
          CREDENTIAL_ENV.tokenEndpoint,
        ].filter((name) => !env[name])
        if (missing.length > 0) throw notHere(`${missing.join(', ')} not set`)
        const tokenEndpoint = env[CREDENTIAL_ENV.tokenEndpoint]!
        const method = env[CREDENTIAL_ENV.authnMethod]?.toLowerCase()
        return fromClientSecret({
          clientId: env[CREDENTIAL_ENV.clientId]!,
          tokenEndpoint,
          scope: env[CREDENTIAL_ENV.scope],
          clientSecretEnvVarName: CREDENTIAL_ENV.clientSecret,
          method: method === 'client_secret_basic' ? 'client_secret_basic' : 'client_secret_post',
          call: tokenEndpointCall(options.http, tokenEndpoint),
          env,
          now: options.now,
        })
      },
    },
    {
      name: 'OIDC token file',
      resolve: async () => {
        const needed = [
          CREDENTIAL_ENV.oidcTokenFile,
          CREDENTIAL_ENV.clientId,
          CREDENTIAL_ENV.tokenEndpoint,
          CREDENTIAL_ENV.federatedCredentialName,
        ]
        const missing = needed.filter((name) => !env[name])
        if (missing.length > 0) throw notHere(`${missing.join(', ')} not set`)
        const tokenEndpoint = env[CREDENTIAL_ENV.tokenEndpoint]!
        return fromOidcTokenFile({
          clientId: env[CREDENTIAL_ENV.clientId]!,
          tokenEndpoint,
          scope: env[CREDENTIAL_ENV.scope],
          tokenFileEnvVarName: CREDENTIAL_ENV.oidcTokenFile,
          applicationFederatedCredentialName: env[CREDENTIAL_ENV.federatedCredentialName]!,
          call: tokenEndpointCall(options.http, tokenEndpoint),
          env,
          now: options.now,
        })
      },
    },
    {
      name: 'configuration file',
      resolve: async () => {
        let config = options.config
        if (config === undefined) {
          try {
            config = await loadClientConfig({ path: options.configPath, env })
          } catch (err) {
            if (err instanceof NoConfigurationFile) throw notHere(err.message)
            throw err
          }
        }
        return fromClientConfig(config, { http: options.http, env, now: options.now })
      },
    },
  ]

  let chosen: Promise<CredentialProvider> | undefined
  const choose = async (): Promise<CredentialProvider> => {
    const attempts: { provider: string; reason: string }[] = []
    for (const link of links) {
      try {
        return await link.resolve()
      } catch (err) {
        if (err instanceof CredentialProviderError && err.notConfigured) {
          attempts.push({ provider: link.name, reason: err.message })
          continue
        }
        throw err
      }
    }
    throw new CredentialProviderError(
      `no credentials found; tried ${attempts.map((a) => `${a.provider} (${a.reason})`).join('; ')}`,
      { attempts },
    )
  }
  return {
    name: 'fromDefaultChain',
    cacheable: options.credentials?.cacheable ?? true,
    async getToken(o: GetTokenOptions = {}): Promise<AccessToken> {
      chosen ??= choose().catch((err: unknown) => {
        chosen = undefined // the environment or the file may be fixed before the next call
        throw err
      })
      return (await chosen).getToken(o)
    },
  }
}
