import { Type } from '@sinclair/typebox'
import {
  AddApplicationKeysBody,
  Application,
  ApplicationId,
  ApplicationKeyId,
  ApplicationKeyList,
  ApplicationPage,
  ClientSecretId,
  ClientSecretPage,
  CreateApplicationBody,
  CreateClientSecretBody,
  CreatedClientSecret,
  CreateFederatedCredentialBody,
  FederatedCredential,
  FederatedCredentialId,
  FederatedCredentialList,
  InstanceId,
  ListQuery,
  RevokeClientSecretBody,
  RevokedClientSecret,
  UpdateApplicationBody,
} from '@strongroom/protocol'
import * as applicationKeys from '../../services/applications/application-keys.js'
import * as applications from '../../services/applications/applications.js'
import * as clientSecrets from '../../services/applications/client-secrets.js'
import * as federatedCredentials from '../../services/applications/federated-credentials.js'
import type { Services } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

const closed = { additionalProperties: false } as const
const A = '/admin/v1/instances/:instanceId/applications'
const instanceParams = Type.Object({ instanceId: InstanceId }, closed)
const appParams = Type.Object({ instanceId: InstanceId, applicationId: ApplicationId }, closed)

/**
 * Administrators register applications (workload identities) and how they authenticate: client
 * secrets, public keys for private_key_jwt, federated credentials. `/admin/v1/instances/{i}/applications`.
 */
export function applicationRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'applications' } as const
  return [
    defineRoute({
      ...admin,
      method: 'POST',
      url: A,
      operationId: 'createApplication',
      summary: 'Register an application (workload identity)',
      params: instanceParams,
      body: CreateApplicationBody,
      success: { status: 201, schema: Application },
      handler: ({ caller, params, body }) =>
        applications.createApplication(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: A,
      operationId: 'listApplications',
      summary: 'List applications',
      params: instanceParams,
      querystring: ListQuery,
      success: { status: 200, schema: ApplicationPage },
      handler: ({ caller, params, query }) =>
        applications.listApplications(s, caller, params.instanceId, query),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:applicationId`,
      operationId: 'getApplication',
      summary: 'Show an application',
      params: appParams,
      success: { status: 200, schema: Application },
      handler: ({ caller, params }) =>
        applications.getApplication(s, caller, params.instanceId, params.applicationId),
    }),
    defineRoute({
      ...admin,
      method: 'PATCH',
      url: `${A}/:applicationId`,
      operationId: 'updateApplication',
      summary: "Update an application's name, description, allowed scopes or access-token lifetime",
      params: appParams,
      body: UpdateApplicationBody,
      success: { status: 200, schema: Application },
      handler: ({ caller, params, body }) =>
        applications.updateApplication(s, caller, params.instanceId, params.applicationId, body),
    }),
    ...(['disable', 'enable'] as const).map((verb) =>
      defineRoute({
        ...admin,
        method: 'POST',
        url: `${A}/:applicationId/${verb}`,
        operationId: `${verb}Application`,
        summary: `${verb === 'enable' ? 'Enable' : 'Disable'} an application`,
        params: appParams,
        success: { status: 200, schema: Application },
        handler: ({ caller, params }) =>
          applications.setApplicationStatus(s, caller, params.instanceId, params.applicationId, `${verb}d`),
      }),
    ),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${A}/:applicationId/client-secrets`,
      operationId: 'createClientSecret',
      summary: 'Create a client secret (returned once)',
      params: appParams,
      body: CreateClientSecretBody,
      success: { status: 201, schema: CreatedClientSecret },
      handler: ({ caller, params, body }) =>
        clientSecrets.createClientSecret(s, caller, params.instanceId, params.applicationId, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:applicationId/client-secrets`,
      operationId: 'listClientSecrets',
      summary: "List an application's client secrets (metadata only)",
      params: appParams,
      querystring: ListQuery,
      success: { status: 200, schema: ClientSecretPage },
      handler: ({ caller, params, query }) =>
        clientSecrets.listClientSecrets(s, caller, params.instanceId, params.applicationId, query),
    }),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${A}/:applicationId/client-secrets/:clientSecretId/revoke`,
      operationId: 'revokeClientSecret',
      summary:
        'Revoke a client secret; its access tokens stay valid until they expire unless revokeTokens is true',
      params: Type.Object(
        { instanceId: InstanceId, applicationId: ApplicationId, clientSecretId: ClientSecretId },
        closed,
      ),
      body: RevokeClientSecretBody,
      success: { status: 200, schema: RevokedClientSecret },
      handler: ({ caller, params, body }) =>
        clientSecrets.revokeClientSecret(
          s,
          caller,
          params.instanceId,
          params.applicationId,
          params.clientSecretId,
          body,
        ),
    }),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${A}/:applicationId/keys`,
      operationId: 'addApplicationKeys',
      summary: 'Register public keys for private_key_jwt (a JWK, a JWKS, or a PEM key or certificate)',
      params: appParams,
      body: AddApplicationKeysBody,
      success: { status: 201, schema: ApplicationKeyList },
      handler: ({ caller, params, body }) =>
        applicationKeys.addApplicationKeys(s, caller, params.instanceId, params.applicationId, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:applicationId/keys`,
      operationId: 'listApplicationKeys',
      summary: "List an application's registered public keys",
      params: appParams,
      success: { status: 200, schema: ApplicationKeyList },
      handler: ({ caller, params }) =>
        applicationKeys.listApplicationKeys(s, caller, params.instanceId, params.applicationId),
    }),
    defineRoute({
      ...admin,
      method: 'DELETE',
      url: `${A}/:applicationId/keys/:applicationKeyId`,
      operationId: 'removeApplicationKey',
      summary: 'Remove a registered public key',
      params: Type.Object(
        { instanceId: InstanceId, applicationId: ApplicationId, applicationKeyId: ApplicationKeyId },
        closed,
      ),
      success: { status: 204, schema: null },
      handler: ({ caller, params }) =>
        applicationKeys.removeApplicationKey(
          s,
          caller,
          params.instanceId,
          params.applicationId,
          params.applicationKeyId,
        ),
    }),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${A}/:applicationId/federated-credentials`,
      operationId: 'createFederatedCredential',
      summary: 'Trust tokens of an external OIDC issuer (Kubernetes, CI) for this application',
      params: appParams,
      body: CreateFederatedCredentialBody,
      success: { status: 201, schema: FederatedCredential },
      handler: ({ caller, params, body }) =>
        federatedCredentials.createFederatedCredential(
          s,
          caller,
          params.instanceId,
          params.applicationId,
          body,
        ),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:applicationId/federated-credentials`,
      operationId: 'listFederatedCredentials',
      summary: "List an application's federated credentials",
      params: appParams,
      success: { status: 200, schema: FederatedCredentialList },
      handler: ({ caller, params }) =>
        federatedCredentials.listFederatedCredentials(s, caller, params.instanceId, params.applicationId),
    }),
    defineRoute({
      ...admin,
      method: 'DELETE',
      url: `${A}/:applicationId/federated-credentials/:federatedCredentialId`,
      operationId: 'deleteFederatedCredential',
      summary: 'Delete a federated credential',
      params: Type.Object(
        {
          instanceId: InstanceId,
          applicationId: ApplicationId,
          federatedCredentialId: FederatedCredentialId,
        },
        closed,
      ),
      success: { status: 204, schema: null },
      handler: ({ caller, params }) =>
        federatedCredentials.deleteFederatedCredential(
          s,
          caller,
          params.instanceId,
          params.applicationId,
          params.federatedCredentialId,
        ),
    }),
  ]
}
