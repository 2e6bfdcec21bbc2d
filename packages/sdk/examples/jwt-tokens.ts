// The JWT operations, in the order a workload meets them, on the demo provider `demo-jwt`:
// generate (with a derived short token), obtain again by id and by short token, validate, list,
// revoke and reinstate (by token and by consumer).
//   node packages/sdk/examples/dist/jwt-tokens.js
import type { PamClient } from '@strongroom/sdk'
import { masked, runExample } from './run-example.js'

export async function run(pam: PamClient, provider = 'demo-jwt'): Promise<boolean[]> {
  // Python: generate_jwt_authentication_token
  const token = await pam.generateJwtAuthenticationToken({
    credentialProviderIdentifier: provider,
    subject: 'orders-service',
    audiences: ['https://api.example.com'],
    customClaims: { tenant: 'acme' },
    expiration: 300, // seconds
    includeDerivedShortToken: true,
  })
  const jwt = token.jwtContent.jwtValue
  const short = token.jwtContent.derivedShortToken!
  console.log(
    `${token.authenticationTokenId}: ${masked(jwt)}, expires ${new Date(token.expirationTime).toISOString()}`,
  )

  // Python: obtain_jwt_authentication_token
  const again = await pam.obtainJwtAuthenticationToken({
    consumerId: token.consumerId,
    authenticationTokenId: token.authenticationTokenId,
  })
  // Python: obtain_jwt_authentication_token_by_derived_short_token (no bearer token needed)
  const byShort = await pam.obtainJwtAuthenticationTokenByDerivedShortToken(short)
  console.log('same JWT:', again.jwtContent.jwtValue === jwt && byShort.jwtContent.jwtValue === jwt)

  const seen: boolean[] = []
  // Python: validate_authentication_token (no bearer token needed)
  seen.push(await pam.validateAuthenticationToken(jwt))
  // Python: list_authentication_tokens; listAllAuthenticationTokens walks every page
  const page = await pam.listAuthenticationTokens({
    consumerId: token.consumerId,
    credentialProviderIdentifier: provider,
    revoked: false,
    maxResults: 10,
  })
  console.log(`${page.totalCount} active-or-expired, unrevoked token(s); first page: ${page.entities.length}`)

  await pam.revokeAuthenticationToken(jwt) // Python: revoke_authentication_token
  seen.push(await pam.validateAuthenticationToken(short))
  await pam.reinstateAuthenticationToken(short) // Python: reinstate_authentication_token
  seen.push(await pam.validateAuthenticationToken(jwt))
  const consumer = { consumerId: token.consumerId, credentialProviderIdentifier: provider }
  await pam.revokeAuthenticationTokenByConsumer(consumer) // Python: revoke_authentication_token_by_consumer
  seen.push(await pam.validateAuthenticationToken(jwt))
  await pam.reinstateAuthenticationTokenByConsumer(consumer) // Python: reinstate_authentication_token_by_consumer
  seen.push(await pam.validateAuthenticationToken(jwt))
  console.log('active after generate, revoke, reinstate, revoke all, reinstate all:', seen)
  return seen
}

await runExample(import.meta.url, (pam) => run(pam).then(() => {}))
