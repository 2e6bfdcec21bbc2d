// Shared by the account tests: workloads with tokens of chosen scopes, grants on accounts, and the
// committed SSH key fixtures (test/fixtures/ssh, see its README).
import { call, type TestServer } from '../support/engines.js'

export * from '../../../../test/fixtures/ssh/ssh-fixtures.js'

export const PAM = 'urn:cloud:idaas:pam'

export interface TestWorkload {
  applicationId: string
  clientId: string
  secret: string
  /** An access token for `scope` (`.all` by default). */
  token(scope?: string): Promise<string>
}

/** An application allowed every PAM scope, with a client secret. */
export async function createWorkload(t: TestServer, name: string): Promise<TestWorkload> {
  const i = `/admin/v1/instances/${t.instanceId}`
  const app = (await call(t, 'POST', `${i}/applications`, { name, allowedScopes: [`${PAM}|.all`] })).body
  const secret = (await call(t, 'POST', `${i}/applications/${app.applicationId}/client-secrets`, {})).body
    .clientSecret as string
  return {
    applicationId: app.applicationId,
    clientId: app.clientId,
    secret,
    async token(scope = `${PAM}|.all`) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v2/${t.instanceId}/authorizationServer/iauths_system/oauth2/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: app.clientId,
          client_secret: secret,
          scope,
        }).toString(),
      })
      const token = res.json().access_token
      if (typeof token !== 'string') throw new Error(`no token for ${scope}: ${res.body}`)
      return token
    },
  }
}

/** Grants `applicationId` actions on accounts named exactly, or by prefix. */
export function grantAccounts(
  t: TestServer,
  applicationId: string,
  resource: string,
  actions: string[],
  prefix = false,
) {
  return call(t, 'POST', `/admin/v1/instances/${t.instanceId}/grants`, {
    applicationId,
    resourceType: 'account',
    resource,
    actions,
    ...(prefix ? { resourceMatch: 'prefix' } : {}),
  })
}

/** A developer-API call with a bearer token, JSON in and out. */
export async function workloadCall(
  t: TestServer,
  token: string | undefined,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the assertions
): Promise<{ status: number; body: any }> {
  const res = await t.app.inject({
    method,
    url: `/v2/${t.instanceId}${path}`,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  })
  return { status: res.statusCode, body: res.body === '' ? null : JSON.parse(res.body) }
}
