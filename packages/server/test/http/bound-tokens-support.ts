// Shared set-up of the key-bound token tests: a server with a fake clock, an application allowed
// the PAM scopes and two scopes of another audience, a granted credential, and helpers that build
// requests with DPoP proofs made by the SDK's client side (an implementation apart from the
// server's verifier).
import { createPublicKey } from 'node:crypto'
import { createProof } from '../../../sdk/src/proof/create-proof.js'
import { createProofKey, type ProofAlgorithm, type ProofKey } from '../../../sdk/src/proof/proof-key.js'
import { call, type Engine, openTestServer, type TestServer } from '../support/engines.js'

export const PAM = 'urn:cloud:idaas:pam'
export const API = 'https://api.example.com'
export const START = 1_800_000_000_000
export const CREDENTIAL = 'bt/key'
export const CREDENTIAL_VALUE = 'canary-bound-api-key'

export interface BoundTokenServer {
  t: TestServer
  /** The fake clock, in epoch milliseconds: set it to move the server's time. */
  clock: { now: number }
  app: { applicationId: string; clientId: string; secret: string }
  v2: string
  /** An access token of the application at the token endpoint, for `scope`. */
  accessToken(scope?: string): Promise<string>
  close(): Promise<void>
}

export async function openBoundTokenServer(engine: Engine): Promise<BoundTokenServer> {
  const clock = { now: START }
  const t = await openTestServer(engine, {
    now: () => clock.now,
    app: { authFailures: { burst: 100_000, refillPerSecond: 1 } },
  })
  const i = `/admin/v1/instances/${t.instanceId}`
  const created = (
    await call(t, 'POST', `${i}/applications`, {
      name: 'bound',
      allowedScopes: [`${PAM}|.all`, `${API}|read`, `${API}|write`],
    })
  ).body
  const secret = (await call(t, 'POST', `${i}/applications/${created.applicationId}/client-secrets`, {})).body
    .clientSecret as string
  await call(t, 'POST', `${i}/credentials`, {
    credentialIdentifier: CREDENTIAL,
    credentialType: 'api_key',
    value: { apiKey: CREDENTIAL_VALUE },
  })
  await call(t, 'POST', `${i}/grants`, {
    applicationId: created.applicationId,
    resourceType: 'credential',
    resource: CREDENTIAL,
    actions: ['obtain'],
  })
  const v2 = `/v2/${t.instanceId}`
  const app = { applicationId: created.applicationId, clientId: created.clientId, secret }
  const accessToken = async (scope = `${PAM}|.all`) => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${v2}/authorizationServer/iauths_system/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: app.secret,
        scope,
      }).toString(),
    })
    if (res.statusCode !== 200) throw new Error(`token endpoint answered ${res.statusCode}: ${res.body}`)
    return res.json().access_token as string
  }
  return { t, clock, app, v2, accessToken, close: () => t.close() }
}

export interface Answer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the assertions
  body: any
  raw: string
  headers: Record<string, unknown>
}

/** A request through `app.inject`; a body is sent as JSON. */
export async function send(
  t: TestServer,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  headers: Record<string, string | string[]> = {},
  body?: unknown,
): Promise<Answer> {
  const res = await t.app.inject({
    method,
    url,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  })
  return {
    status: res.statusCode,
    body: res.body === '' ? null : JSON.parse(res.body),
    raw: res.body,
    headers: res.headers,
  }
}

/** The public URL the server believes it is reached at, and so the `htu` of a proof for `path`. */
export const publicUrlOf = (b: BoundTokenServer, path: string) => `${b.t.services.publicUrl}${path}`

/** `Authorization: DPoP <token>` and a fresh proof of `key` for this method and path. */
export async function dpopHeaders(
  b: BoundTokenServer,
  key: ProofKey,
  token: string,
  method: string,
  path: string,
  overrides: { htm?: string; url?: string; now?: number; accessToken?: string } = {},
): Promise<{ authorization: string; dpop: string }> {
  const dpop = await createProof(key, {
    method: overrides.htm ?? method,
    url: overrides.url ?? publicUrlOf(b, path),
    accessToken: overrides.accessToken ?? token,
    now: overrides.now ?? b.clock.now,
  })
  return { authorization: `DPoP ${token}`, dpop }
}

/** A public key as the issue endpoints take it: `{ jwk }` or `{ pem }` (SPKI). */
export function bindingKeyOf(key: ProofKey, form: 'jwk' | 'pem' = 'jwk'): { jwk: object } | { pem: string } {
  if (form === 'jwk') return { jwk: { ...key.publicJwk } }
  const pem = createPublicKey({ key: { ...key.publicJwk }, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString()
  return { pem }
}

export const newKey = (alg: ProofAlgorithm = 'ES256') => createProofKey(alg)

/** The path of ObtainCredential for the granted credential, and its query. */
export const obtainPath = (b: BoundTokenServer) => `${b.v2}/credentials/_/actions/obtain`
export const obtainUrl = (b: BoundTokenServer) =>
  `${obtainPath(b)}?credentialIdentifier=${encodeURIComponent(CREDENTIAL)}`

/** Issues a scoped token with `bearer` (the application's access token, or a bound one with its key). */
export async function issueScoped(
  b: BoundTokenServer,
  bearer: string | { token: string; key: ProofKey },
  body: Record<string, unknown>,
): Promise<Answer> {
  return issue(b, 'scopedTokens', bearer, body)
}

export async function issueSession(
  b: BoundTokenServer,
  bearer: string | { token: string; key: ProofKey },
  body: Record<string, unknown>,
): Promise<Answer> {
  return issue(b, 'sessionTokens', bearer, body)
}

async function issue(
  b: BoundTokenServer,
  kind: 'scopedTokens' | 'sessionTokens',
  bearer: string | { token: string; key: ProofKey },
  body: Record<string, unknown>,
): Promise<Answer> {
  const path = `${b.v2}/${kind}/_/actions/issue`
  const headers =
    typeof bearer === 'string'
      ? { authorization: `Bearer ${bearer}` }
      : await dpopHeaders(b, bearer.key, bearer.token, 'POST', path)
  return send(b.t, 'POST', path, headers, body)
}

/** Calls a session's own endpoint (`refresh` or `revoke`) with `token` and a proof of `key`. */
export async function sessionAction(
  b: BoundTokenServer,
  action: 'refresh' | 'revoke',
  token: string,
  key: ProofKey,
): Promise<Answer> {
  const path = `${b.v2}/sessionTokens/_/actions/${action}`
  return send(b.t, 'POST', path, await dpopHeaders(b, key, token, 'POST', path), {})
}

/** A form post to the instance's authorization server (`oauth2/token`, `oauth2/revoke`, …) as the application. */
export async function oauth(
  b: BoundTokenServer,
  endpoint: 'token' | 'revoke' | 'introspect',
  fields: Record<string, string>,
  client: { clientId: string; secret: string } = b.app,
): Promise<Answer> {
  const res = await b.t.app.inject({
    method: 'POST',
    url: `${b.v2}/authorizationServer/iauths_system/oauth2/${endpoint}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      client_id: client.clientId,
      client_secret: client.secret,
      ...fields,
    }).toString(),
  })
  return {
    status: res.statusCode,
    body: res.body === '' ? null : JSON.parse(res.body),
    raw: res.body,
    headers: res.headers,
  }
}

/**
 * Another application of the instance, allowed `allowedScopes` with tokens of `lifetime`
 * seconds, and one of its access tokens: a subject token for the bound application to exchange.
 */
export async function otherApplicationToken(
  b: BoundTokenServer,
  name: string,
  allowedScopes: string[],
  lifetime = 3600,
): Promise<{ applicationId: string; token: string }> {
  const i = `/admin/v1/instances/${b.t.instanceId}`
  const created = (
    await call(b.t, 'POST', `${i}/applications`, { name, allowedScopes, accessTokenLifetime: lifetime })
  ).body
  const secret = (await call(b.t, 'POST', `${i}/applications/${created.applicationId}/client-secrets`, {}))
    .body.clientSecret as string
  const res = await oauth(
    b,
    'token',
    { grant_type: 'client_credentials' },
    { clientId: created.clientId, secret },
  )
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${res.raw}`)
  return { applicationId: created.applicationId, token: res.body.access_token as string }
}

/** RFC 8693: the application trades `subjectToken` for a token of its own about that subject. */
export async function exchange(
  b: BoundTokenServer,
  subjectToken: string,
  fields: Record<string, string> = {},
): Promise<string> {
  const res = await oauth(b, 'token', {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    ...fields,
  })
  if (res.status !== 200) throw new Error(`token exchange answered ${res.status}: ${res.raw}`)
  return res.body.access_token as string
}

/** The audit events of the instance with `action`, oldest first. */
export async function auditEvents(b: BoundTokenServer, action: string) {
  return b.t.services.store.db
    .selectFrom('audit_events')
    .selectAll()
    .where('instance_id', '=', b.t.instanceId)
    .where('action', '=', action)
    .orderBy('seq')
    .execute()
}
