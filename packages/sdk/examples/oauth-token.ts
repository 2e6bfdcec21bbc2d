// FetchOAuthAuthenticationToken: an access token from an upstream OAuth server, fetched by the
// PAM with the client secret it keeps. Needs an `oauth` provider (its client secret is read from
// stdin or a prompt) and a grant that lets the application `use` it (APP: the application's id, the
// configuration's `clientId`):
//   npx strongroom provider create --identifier upstream --type oauth --token-endpoint URL --client-id ID
//   npx strongroom grant create --app APP --type credential_provider --resource upstream --actions use
//   node packages/sdk/examples/dist/oauth-token.js upstream
import type { PamClient } from '@strongroom/sdk'
import { masked, runExample } from './run-example.js'

export async function run(pam: PamClient, provider = process.argv[2] ?? 'upstream'): Promise<string> {
  // Python: fetch_oauth_authentication_token_v2 (and fetch_oauth_authentication_token)
  const token = await pam.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: provider })
  const content = token.oauthAccessTokenContent
  // IDaaS answers an authorization session instead when a user must consent (three-legged OAuth);
  // strongroom's providers are client-credentials only, so the token is always there.
  if (content === undefined) throw new Error(`provider ${provider} needs a user's authorization first`)
  console.log(`${content.tokenType} ${masked(content.accessTokenValue)} for ${content.scope}`)
  // The PAM shares the upstream token until shortly before it expires; this asks for a new one.
  await pam.fetchOAuthAuthenticationToken({
    credentialProviderIdentifier: provider,
    forceAuthentication: true,
  })
  return content.accessTokenValue
}

await runExample(import.meta.url, (pam) => run(pam).then(() => {}))
