// @ts-check
/**
 * What bench/scale.mjs builds through the API before it seeds: the obtaining workload of the main
 * bench's `obtain-credential` scenario (its setup, unchanged) with nine more grants, so the calling
 * application holds ten; and a workload that lists the tokens a jwt provider minted for it, with
 * one JWT minted through the API whose claims the seeded tokens copy.
 */
import { scenarioById } from './scenarios.mjs'

export const TOKEN_PROVIDER = 'scale-jwt'
const PAM = 'urn:cloud:idaas:pam'

/**
 * @param {import('./scenarios.mjs').Target} target
 * @param {string} method
 * @param {string} path below the instance's admin prefix
 * @param {unknown} [body]
 */
async function admin(target, method, path, body) {
  const response = await fetch(
    `${target.baseUrl}/admin/v1/instances/${encodeURIComponent(target.instanceId ?? '')}/${path}`,
    {
      method,
      headers: {
        authorization: `Bearer ${target.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    },
  )
  const text = await response.text()
  if (response.status >= 300)
    throw new Error(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`)
  return JSON.parse(text)
}

/**
 * A client_credentials access token for a new application `name` allowed `scopes`.
 * @param {import('./scenarios.mjs').Target} target
 * @param {string} name
 * @param {string[]} scopes PAM scope values
 */
async function workload(target, name, scopes) {
  const app = await admin(target, 'POST', 'applications', {
    name,
    allowedScopes: scopes.map((s) => `${PAM}|${s}`),
  })
  const secret = await admin(target, 'POST', `applications/${app.applicationId}/client-secrets`, {})
  const instance = encodeURIComponent(target.instanceId ?? '')
  const response = await fetch(
    `${target.baseUrl}/v2/${instance}/authorizationServer/iauths_system/oauth2/token`,
    {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: secret.clientSecret,
        scope: scopes.map((s) => `${PAM}|${s}`).join(' '),
      }),
    },
  )
  const token = await response.json()
  if (response.status !== 200) throw new Error(`token for ${name}: HTTP ${response.status}`)
  return { applicationId: app.applicationId, accessToken: /** @type {string} */ (token.access_token) }
}

/**
 * @param {import('./scenarios.mjs').Target} target
 * @param {{ teams: number }} options the seeded credentials' teams (`team-<k>/`)
 */
export async function setUpWorkloads(target, options) {
  const obtain = /** @type {{ identifiers: string[], accessToken: string, obtainPath: string }} */ (
    await scenarioById('obtain-credential').setup?.(target)
  )
  const apps = await admin(target, 'GET', 'applications?maxResults=100')
  const obtainingApp = apps.entities.find((/** @type {any} */ a) => a.name === 'bench-obtain')
  if (!obtainingApp) throw new Error('the obtain-credential setup made no application bench-obtain')
  // Nine more grants, alike in both databases: prefix grants on teams of the seeded credentials
  // (team-0/ lets the check read a seeded credential) and exact grants on seeded identifiers.
  for (let g = 0; g < 9; g++) {
    await admin(target, 'POST', 'grants', {
      applicationId: obtainingApp.applicationId,
      resourceType: 'credential',
      resourceMatch: g % 2 === 0 ? 'prefix' : 'exact',
      resource: g % 2 === 0 ? `team-${(g * 37) % options.teams}/` : `team-${g}/svc-${g}`,
      actions: ['obtain'],
    })
  }

  await admin(target, 'POST', 'credential-providers', {
    credentialProviderIdentifier: TOKEN_PROVIDER,
    credentialProviderType: 'jwt',
    jwt: { algorithm: 'EdDSA', defaultExpiration: 86_400 },
  })
  const lister = await workload(target, 'scale-tokens', [
    'authentication_token:read',
    'authentication_token:obtain',
  ])
  await admin(target, 'POST', 'grants', {
    applicationId: lister.applicationId,
    resourceType: 'credential_provider',
    resourceMatch: 'exact',
    resource: TOKEN_PROVIDER,
    actions: ['read', 'use'],
  })
  const instance = encodeURIComponent(target.instanceId ?? '')
  const minted = await fetch(`${target.baseUrl}/v2/${instance}/authenticationTokens/_/actions/generateJwt`, {
    method: 'POST',
    headers: { authorization: `Bearer ${lister.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      credentialProviderIdentifier: TOKEN_PROVIDER,
      subject: 'scale-service',
      audiences: ['https://api.example.com'],
    }),
  })
  const jwt = await minted.json()
  if (minted.status !== 200)
    throw new Error(`generateJwt: HTTP ${minted.status}: ${JSON.stringify(jwt).slice(0, 300)}`)
  return {
    obtain,
    obtainingApplicationId: /** @type {string} */ (obtainingApp.applicationId),
    lister: {
      ...lister,
      listPath: `/v2/${instance}/authenticationTokens`,
      template: jwt.jwtContent.jwtValue,
    },
  }
}
