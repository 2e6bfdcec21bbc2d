// The seed SDK's flow: exchange a token (RFC 8693) for one of this client's own, then use it
// through a static provider. Here the subject is the same application's own token; in practice
// it is the token a caller presented to this service.
//   node packages/sdk/examples/dist/token-exchange.js

import { fileURLToPath } from 'node:url'
import {
  clientSecretPost,
  createHttpClient,
  fromClientSecret,
  fromStatic,
  fromTokenExchange,
  loadClientConfig,
  PamClient,
  tokenEndpointCall,
} from '@strongroom/sdk'

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const config = await loadClientConfig({ env })
  const secret = env[config.authnConfiguration.clientSecretEnvVarName ?? 'IDAAS_CLIENT_SECRET'] ?? ''
  await using http = createHttpClient({ connectTimeout: config.httpConfiguration.connectTimeout })
  const call = tokenEndpointCall(http, config.tokenEndpoint)
  const client = { clientId: config.clientId, tokenEndpoint: config.tokenEndpoint, call }
  const exchanged = await fromTokenExchange({
    ...client,
    authentication: clientSecretPost(secret),
    subjectToken: fromClientSecret({ ...client, clientSecret: secret }),
    scope: 'urn:cloud:idaas:pam|credential:obtain',
  }).getToken()
  await using pam = PamClient.fromClientConfig(config, {
    credentials: fromStatic({ accessToken: exchanged }),
    http,
  })
  return pam.getApiKey('demo/api-key')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const apiKey = await run()
  console.log(`obtained with an exchanged token: ${apiKey.length} characters`)
}
