import type { RouteSpec } from '../../src/http/route-table.js'
import { accountAdminRoutes } from '../../src/http/routes/account-routes.js'
import { adminTokenRoutes } from '../../src/http/routes/admin-token-routes.js'
import { applicationRoutes } from '../../src/http/routes/application-routes.js'
import { auditRoutes } from '../../src/http/routes/audit-routes.js'
import { cloudAccountAdminRoutes } from '../../src/http/routes/cloud-account-routes.js'
import { credentialAdminRoutes } from '../../src/http/routes/credential-routes.js'
import { grantRoutes } from '../../src/http/routes/grant-routes.js'
import { instanceRoutes } from '../../src/http/routes/instance-routes.js'
import { providerAdminRoutes } from '../../src/http/routes/provider-routes.js'
import { signingKeyRoutes } from '../../src/http/routes/signing-key-routes.js'
import type { Services } from '../../src/services.js'
import { call, type TestServer } from './engines.js'

export interface Fixture {
  applicationId: string
  clientSecretId: string
  credentialId: string
  grantId: string
  adminTokenId: string
  providerId: string
}

/** Real resources for every path parameter of the admin API. */
export async function createFixture(t: TestServer): Promise<Fixture> {
  const i = `/admin/v1/instances/${t.instanceId}`
  const app = await call(t, 'POST', `${i}/applications`, { name: 'fixture' })
  const secret = await call(t, 'POST', `${i}/applications/${app.body.applicationId}/client-secrets`, {})
  const cred = await call(t, 'POST', `${i}/credentials`, {
    credentialIdentifier: 'fixture/key',
    credentialType: 'api_key',
    value: { apiKey: 'fixture-value' },
  })
  const grant = await call(t, 'POST', `${i}/grants`, {
    applicationId: app.body.applicationId,
    resourceType: 'credential',
    resource: 'fixture/key',
    actions: ['obtain'],
  })
  const token = await call(t, 'POST', '/admin/v1/admin-tokens', { name: 'fixture' })
  const provider = await call(t, 'POST', `${i}/credential-providers`, {
    credentialProviderIdentifier: 'fixture-jwt',
    credentialProviderType: 'jwt',
  })
  return {
    applicationId: app.body.applicationId,
    clientSecretId: secret.body.clientSecretId,
    credentialId: cred.body.credentialId,
    grantId: grant.body.grantId,
    adminTokenId: token.body.adminTokenId,
    providerId: provider.body.credentialProviderId,
  }
}

/** The admin API's routes, one table per aggregate (the metrics are tested on their own). */
export function adminRoutes(s: Services): RouteSpec[] {
  return [
    ...adminTokenRoutes(s),
    ...instanceRoutes(s),
    ...applicationRoutes(s),
    ...credentialAdminRoutes(s),
    ...grantRoutes(s),
    ...signingKeyRoutes(s),
    ...auditRoutes(s),
    ...providerAdminRoutes(s),
    ...accountAdminRoutes(s),
    ...cloudAccountAdminRoutes(s),
  ]
}

export function routeTable(t: TestServer): RouteSpec[] {
  return adminRoutes(t.services)
}

/** The route's URL with its parameters filled from the fixture. */
export function concreteUrl(t: TestServer, route: RouteSpec, f: Fixture): string {
  return route.url
    .replace(':instanceId', t.instanceId)
    .replace(':applicationId', f.applicationId)
    .replace(':clientSecretId', f.clientSecretId)
    .replace(':credential', f.credentialId)
    .replace(':grantId', f.grantId)
    .replace(':adminTokenId', f.adminTokenId)
    .replace(':provider', f.providerId)
    .replace(':applicationKeyId', 'apk_00000000000000000000000000')
    .replace(':federatedCredentialId', 'fc_00000000000000000000000000')
    .replace(':kid', 'unknown-kid-00000000000000000000000000000000')
}
