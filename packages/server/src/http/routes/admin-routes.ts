import { Type } from '@sinclair/typebox'
import type * as P from '@strongroom/protocol'
import {
  AddApplicationKeysBody,
  AdminToken,
  AdminTokenId,
  AdminTokenPage,
  Application,
  ApplicationId,
  ApplicationKeyId,
  ApplicationKeyList,
  ApplicationPage,
  AuditEventPage,
  AuditQuery,
  AuditVerifyResult,
  ClientSecretId,
  ClientSecretPage,
  CreateAdminTokenBody,
  CreateApplicationBody,
  CreateClientSecretBody,
  CreateCredentialBody,
  CreatedAdminToken,
  CreatedClientSecret,
  CreateFederatedCredentialBody,
  CreateGrantBody,
  CreateInstanceBody,
  Credential,
  CredentialListQuery,
  CredentialPage,
  CredentialVersionPage,
  FederatedCredential,
  FederatedCredentialId,
  FederatedCredentialList,
  Grant,
  GrantId,
  GrantListQuery,
  GrantPage,
  Instance,
  InstanceId,
  InstancePage,
  idOrIdentifier,
  ListQuery,
  PutCredentialVersionBody,
  RevealCredentialBody,
  RevealedCredential,
  RevokeClientSecretBody,
  RevokedClientSecret,
  RotateSigningKeyBody,
  SigningKey,
  UpdateApplicationBody,
  UpdateCredentialBody,
  WhoAmI,
} from '@strongroom/protocol'
import { queryAuditEvents } from '../../audit/query.js'
import { verifyChain } from '../../audit/verify.js'
import { Forbidden } from '../../errors.js'
import * as adminTokens from '../../services/admin-tokens/admin-tokens.js'
import * as applicationKeys from '../../services/applications/application-keys.js'
import * as applications from '../../services/applications/applications.js'
import * as clientSecrets from '../../services/applications/client-secrets.js'
import * as federatedCredentials from '../../services/applications/federated-credentials.js'
import * as credentials from '../../services/credentials/credentials.js'
import * as grants from '../../services/grants/grants.js'
import * as instances from '../../services/instances/instances.js'
import { requireInstance } from '../../services/instances/instances.js'
import { type Services, SYSTEM_CHAIN } from '../../services.js'
import type { RouteInput, RouteSpec } from '../route-table.js'
import { accountAdminRoutes } from './account-routes.js'
import { cloudAccountAdminRoutes } from './cloud-account-routes.js'
import { providerAdminRoutes } from './provider-routes.js'

const closed = { additionalProperties: false } as const
const I = '/admin/v1/instances/:instanceId'
const instanceParams = Type.Object({ instanceId: InstanceId }, closed)
const appParams = Type.Object({ instanceId: InstanceId, applicationId: ApplicationId }, closed)
const credentialParams = Type.Object(
  {
    instanceId: InstanceId,
    credential: idOrIdentifier('cred', 'credential id or identifier'),
  },
  closed,
)
/** The audit endpoints also serve the `system` chain, to operator tokens only. */
const chainParams = Type.Object({ instanceId: Type.Union([InstanceId, Type.Literal(SYSTEM_CHAIN)]) }, closed)

type In<B = unknown, Q = unknown> = RouteInput & { body: B; query: Q & Record<string, unknown> }

async function requireChain(s: Services, input: RouteInput): Promise<string> {
  const chain = input.params.instanceId!
  if (chain === SYSTEM_CHAIN) {
    if (input.caller.instanceScope !== null)
      throw new Forbidden('the system audit chain is for operator tokens only')
  } else {
    await requireInstance(s.store.db, input.caller, chain)
  }
  return chain
}

export function adminRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin' } as const
  return [
    {
      ...admin,
      method: 'GET',
      url: '/admin/v1/whoami',
      operationId: 'whoAmI',
      summary: 'The admin token in use and the default instance',
      tag: 'admin',
      success: { status: 200, schema: WhoAmI },
      handler: async ({ caller, request }) => ({
        adminTokenId: caller.actor.id,
        name: request.adminTokenName ?? '',
        instanceId: caller.instanceScope,
        defaultInstanceId: caller.instanceScope ?? s.defaultInstanceId,
      }),
    },
    // ---- instances
    {
      ...admin,
      method: 'POST',
      url: '/admin/v1/instances',
      operationId: 'createInstance',
      summary: 'Create an instance (tenant)',
      tag: 'instances',
      body: CreateInstanceBody,
      success: { status: 201, schema: Instance },
      handler: ({ caller, body }: In<P.CreateInstanceBody>) => instances.createInstance(s, caller, body),
    },
    {
      ...admin,
      method: 'GET',
      url: '/admin/v1/instances',
      operationId: 'listInstances',
      summary: 'List instances',
      tag: 'instances',
      querystring: ListQuery,
      success: { status: 200, schema: InstancePage },
      handler: ({ caller, query }: In<unknown, P.ListQuery>) => instances.listInstances(s, caller, query),
    },
    {
      ...admin,
      method: 'GET',
      url: I,
      operationId: 'getInstance',
      summary: 'Show an instance',
      tag: 'instances',
      params: instanceParams,
      success: { status: 200, schema: Instance },
      handler: ({ caller, params }) => instances.getInstance(s, caller, params.instanceId!),
    },
    // ---- admin tokens
    {
      ...admin,
      method: 'POST',
      url: '/admin/v1/admin-tokens',
      operationId: 'createAdminToken',
      summary: 'Create an admin token (returned once)',
      tag: 'admin-tokens',
      body: CreateAdminTokenBody,
      success: { status: 201, schema: CreatedAdminToken },
      handler: ({ caller, body }: In<P.CreateAdminTokenBody>) =>
        adminTokens.createAdminToken(s, caller, body),
    },
    {
      ...admin,
      method: 'GET',
      url: '/admin/v1/admin-tokens',
      operationId: 'listAdminTokens',
      summary: 'List admin tokens',
      tag: 'admin-tokens',
      querystring: ListQuery,
      success: { status: 200, schema: AdminTokenPage },
      handler: ({ caller, query }: In<unknown, P.ListQuery>) => adminTokens.listAdminTokens(s, caller, query),
    },
    {
      ...admin,
      method: 'POST',
      url: '/admin/v1/admin-tokens/:adminTokenId/revoke',
      operationId: 'revokeAdminToken',
      summary: 'Revoke an admin token',
      tag: 'admin-tokens',
      params: Type.Object({ adminTokenId: AdminTokenId }, closed),
      success: { status: 200, schema: AdminToken },
      handler: ({ caller, params }) => adminTokens.revokeAdminToken(s, caller, params.adminTokenId!),
    },
    // ---- applications
    {
      ...admin,
      method: 'POST',
      url: `${I}/applications`,
      operationId: 'createApplication',
      summary: 'Register an application (workload identity)',
      tag: 'applications',
      params: instanceParams,
      body: CreateApplicationBody,
      success: { status: 201, schema: Application },
      handler: ({ caller, params, body }: In<P.CreateApplicationBody>) =>
        applications.createApplication(s, caller, params.instanceId!, body),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/applications`,
      operationId: 'listApplications',
      summary: 'List applications',
      tag: 'applications',
      params: instanceParams,
      querystring: ListQuery,
      success: { status: 200, schema: ApplicationPage },
      handler: ({ caller, params, query }: In<unknown, P.ListQuery>) =>
        applications.listApplications(s, caller, params.instanceId!, query),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/applications/:applicationId`,
      operationId: 'getApplication',
      summary: 'Show an application',
      tag: 'applications',
      params: appParams,
      success: { status: 200, schema: Application },
      handler: ({ caller, params }) =>
        applications.getApplication(s, caller, params.instanceId!, params.applicationId!),
    },
    {
      ...admin,
      method: 'PATCH',
      url: `${I}/applications/:applicationId`,
      operationId: 'updateApplication',
      summary: "Update an application's name, description, allowed scopes or access-token lifetime",
      tag: 'applications',
      params: appParams,
      body: UpdateApplicationBody,
      success: { status: 200, schema: Application },
      handler: ({ caller, params, body }: In<P.UpdateApplicationBody>) =>
        applications.updateApplication(s, caller, params.instanceId!, params.applicationId!, body),
    },
    ...(['disable', 'enable'] as const).map(
      (verb): RouteSpec => ({
        ...admin,
        method: 'POST',
        url: `${I}/applications/:applicationId/${verb}`,
        operationId: `${verb}Application`,
        summary: `${verb === 'enable' ? 'Enable' : 'Disable'} an application`,
        tag: 'applications',
        params: appParams,
        success: { status: 200, schema: Application },
        handler: ({ caller, params }) =>
          applications.setApplicationStatus(s, caller, params.instanceId!, params.applicationId!, `${verb}d`),
      }),
    ),
    {
      ...admin,
      method: 'POST',
      url: `${I}/applications/:applicationId/client-secrets`,
      operationId: 'createClientSecret',
      summary: 'Create a client secret (returned once)',
      tag: 'applications',
      params: appParams,
      body: CreateClientSecretBody,
      success: { status: 201, schema: CreatedClientSecret },
      handler: ({ caller, params, body }: In<P.CreateClientSecretBody>) =>
        clientSecrets.createClientSecret(s, caller, params.instanceId!, params.applicationId!, body),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/applications/:applicationId/client-secrets`,
      operationId: 'listClientSecrets',
      summary: "List an application's client secrets (metadata only)",
      tag: 'applications',
      params: appParams,
      querystring: ListQuery,
      success: { status: 200, schema: ClientSecretPage },
      handler: ({ caller, params, query }: In<unknown, P.ListQuery>) =>
        clientSecrets.listClientSecrets(s, caller, params.instanceId!, params.applicationId!, query),
    },
    {
      ...admin,
      method: 'POST',
      url: `${I}/applications/:applicationId/client-secrets/:clientSecretId/revoke`,
      operationId: 'revokeClientSecret',
      summary:
        'Revoke a client secret; its access tokens stay valid until they expire unless revokeTokens is true',
      tag: 'applications',
      params: Type.Object(
        { instanceId: InstanceId, applicationId: ApplicationId, clientSecretId: ClientSecretId },
        closed,
      ),
      body: RevokeClientSecretBody,
      success: { status: 200, schema: RevokedClientSecret },
      handler: ({ caller, params, body }: In<P.RevokeClientSecretBody>) =>
        clientSecrets.revokeClientSecret(
          s,
          caller,
          params.instanceId!,
          params.applicationId!,
          params.clientSecretId!,
          body,
        ),
    },
    {
      ...admin,
      method: 'POST',
      url: `${I}/applications/:applicationId/keys`,
      operationId: 'addApplicationKeys',
      summary: 'Register public keys for private_key_jwt (a JWK, a JWKS, or a PEM key or certificate)',
      tag: 'applications',
      params: appParams,
      body: AddApplicationKeysBody,
      success: { status: 201, schema: ApplicationKeyList },
      handler: ({ caller, params, body }: In<P.AddApplicationKeysBody>) =>
        applicationKeys.addApplicationKeys(s, caller, params.instanceId!, params.applicationId!, body),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/applications/:applicationId/keys`,
      operationId: 'listApplicationKeys',
      summary: "List an application's registered public keys",
      tag: 'applications',
      params: appParams,
      success: { status: 200, schema: ApplicationKeyList },
      handler: ({ caller, params }) =>
        applicationKeys.listApplicationKeys(s, caller, params.instanceId!, params.applicationId!),
    },
    {
      ...admin,
      method: 'DELETE',
      url: `${I}/applications/:applicationId/keys/:applicationKeyId`,
      operationId: 'removeApplicationKey',
      summary: 'Remove a registered public key',
      tag: 'applications',
      params: Type.Object(
        { instanceId: InstanceId, applicationId: ApplicationId, applicationKeyId: ApplicationKeyId },
        closed,
      ),
      success: { status: 204, schema: null },
      handler: ({ caller, params }) =>
        applicationKeys.removeApplicationKey(
          s,
          caller,
          params.instanceId!,
          params.applicationId!,
          params.applicationKeyId!,
        ),
    },
    {
      ...admin,
      method: 'POST',
      url: `${I}/applications/:applicationId/federated-credentials`,
      operationId: 'createFederatedCredential',
      summary: 'Trust tokens of an external OIDC issuer (Kubernetes, CI) for this application',
      tag: 'applications',
      params: appParams,
      body: CreateFederatedCredentialBody,
      success: { status: 201, schema: FederatedCredential },
      handler: ({ caller, params, body }: In<P.CreateFederatedCredentialBody>) =>
        federatedCredentials.createFederatedCredential(
          s,
          caller,
          params.instanceId!,
          params.applicationId!,
          body,
        ),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/applications/:applicationId/federated-credentials`,
      operationId: 'listFederatedCredentials',
      summary: "List an application's federated credentials",
      tag: 'applications',
      params: appParams,
      success: { status: 200, schema: FederatedCredentialList },
      handler: ({ caller, params }) =>
        federatedCredentials.listFederatedCredentials(s, caller, params.instanceId!, params.applicationId!),
    },
    {
      ...admin,
      method: 'DELETE',
      url: `${I}/applications/:applicationId/federated-credentials/:federatedCredentialId`,
      operationId: 'deleteFederatedCredential',
      summary: 'Delete a federated credential',
      tag: 'applications',
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
          params.instanceId!,
          params.applicationId!,
          params.federatedCredentialId!,
        ),
    },
    // ---- credentials
    {
      ...admin,
      method: 'POST',
      url: `${I}/credentials`,
      operationId: 'createCredential',
      summary: 'Create a credential with its first version',
      tag: 'credentials',
      params: instanceParams,
      body: CreateCredentialBody,
      success: { status: 201, schema: Credential },
      handler: ({ caller, params, body }: In<P.CreateCredentialBody>) =>
        credentials.createCredential(s, caller, params.instanceId!, body),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/credentials`,
      operationId: 'listCredentials',
      summary: 'List credentials (metadata only)',
      tag: 'credentials',
      params: instanceParams,
      querystring: CredentialListQuery,
      success: { status: 200, schema: CredentialPage },
      handler: ({ caller, params, query }: In<unknown, P.CredentialListQuery>) =>
        credentials.listCredentials(s, caller, params.instanceId!, query),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/credentials/:credential`,
      operationId: 'getCredential',
      summary: 'Show a credential (metadata only)',
      tag: 'credentials',
      params: credentialParams,
      success: { status: 200, schema: Credential },
      handler: ({ caller, params }) =>
        credentials.getCredential(s, caller, params.instanceId!, params.credential!),
    },
    {
      ...admin,
      method: 'PATCH',
      url: `${I}/credentials/:credential`,
      operationId: 'updateCredential',
      summary: "Update a credential's name or description",
      tag: 'credentials',
      params: credentialParams,
      body: UpdateCredentialBody,
      success: { status: 200, schema: Credential },
      handler: ({ caller, params, body }: In<P.UpdateCredentialBody>) =>
        credentials.updateCredential(s, caller, params.instanceId!, params.credential!, body),
    },
    ...(['disable', 'enable'] as const).map(
      (verb): RouteSpec => ({
        ...admin,
        method: 'POST',
        url: `${I}/credentials/:credential/${verb}`,
        operationId: `${verb}Credential`,
        summary: `${verb === 'enable' ? 'Enable' : 'Disable'} a credential`,
        tag: 'credentials',
        params: credentialParams,
        success: { status: 200, schema: Credential },
        handler: ({ caller, params }) =>
          credentials.setCredentialStatus(s, caller, params.instanceId!, params.credential!, `${verb}d`),
      }),
    ),
    {
      ...admin,
      method: 'POST',
      url: `${I}/credentials/:credential/versions`,
      operationId: 'putCredentialVersion',
      summary: 'Rotate: store a new version and make it current',
      tag: 'credentials',
      params: credentialParams,
      body: PutCredentialVersionBody,
      success: { status: 201, schema: Credential },
      handler: ({ caller, params, body }: In<P.PutCredentialVersionBody>) =>
        credentials.putCredentialVersion(s, caller, params.instanceId!, params.credential!, body),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/credentials/:credential/versions`,
      operationId: 'listCredentialVersions',
      summary: 'List versions (metadata only), newest first',
      tag: 'credentials',
      params: credentialParams,
      querystring: ListQuery,
      success: { status: 200, schema: CredentialVersionPage },
      handler: ({ caller, params, query }: In<unknown, P.ListQuery>) =>
        credentials.listCredentialVersions(s, caller, params.instanceId!, params.credential!, query),
    },
    {
      ...admin,
      method: 'POST',
      url: `${I}/credentials/:credential/reveal`,
      operationId: 'revealCredential',
      summary: 'Reveal the current value (audited; answered only once the audit event is durable)',
      tag: 'credentials',
      params: credentialParams,
      body: RevealCredentialBody,
      success: { status: 200, schema: RevealedCredential },
      handler: ({ caller, params, body }: In<P.RevealCredentialBody | undefined>) =>
        credentials.revealCredential(s, caller, params.instanceId!, params.credential!, body?.reason),
    },
    // ---- grants
    {
      ...admin,
      method: 'POST',
      url: `${I}/grants`,
      operationId: 'createGrant',
      summary: 'Grant an application actions on resources',
      tag: 'grants',
      params: instanceParams,
      body: CreateGrantBody,
      success: { status: 201, schema: Grant },
      handler: ({ caller, params, body }: In<P.CreateGrantBody>) =>
        grants.createGrant(s, caller, params.instanceId!, body),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/grants`,
      operationId: 'listGrants',
      summary: 'List grants',
      tag: 'grants',
      params: instanceParams,
      querystring: GrantListQuery,
      success: { status: 200, schema: GrantPage },
      handler: ({ caller, params, query }: In<unknown, P.GrantListQuery>) =>
        grants.listGrants(s, caller, params.instanceId!, query),
    },
    {
      ...admin,
      method: 'DELETE',
      url: `${I}/grants/:grantId`,
      operationId: 'deleteGrant',
      summary: 'Delete a grant',
      tag: 'grants',
      params: Type.Object({ instanceId: InstanceId, grantId: GrantId }, closed),
      success: { status: 204, schema: null },
      handler: ({ caller, params }) => grants.deleteGrant(s, caller, params.instanceId!, params.grantId!),
    },
    // ---- signing keys of the authorization server
    {
      ...admin,
      method: 'GET',
      url: `${I}/signing-keys`,
      operationId: 'listSigningKeys',
      summary: 'List the published signing keys of the instance (next, active, retired)',
      tag: 'authorization-server',
      params: instanceParams,
      success: { status: 200, schema: Type.Object({ entities: Type.Array(SigningKey) }) },
      handler: async ({ caller, params }) => {
        await requireInstance(s.store.db, caller, params.instanceId!)
        return { entities: await s.signingKeys.list(params.instanceId!) }
      },
    },
    {
      ...admin,
      method: 'POST',
      url: `${I}/signing-keys/rotate`,
      operationId: 'rotateSigningKey',
      summary: 'Add a signing key: published now, signing after activateAfterSeconds (default 600)',
      tag: 'authorization-server',
      params: instanceParams,
      body: RotateSigningKeyBody,
      success: { status: 201, schema: SigningKey },
      handler: async ({ caller, params, body }: In<P.RotateSigningKeyBody>) => {
        await requireInstance(s.store.db, caller, params.instanceId!)
        return s.signingKeys.rotate(caller, params.instanceId!, body)
      },
    },
    // ---- audit
    {
      ...admin,
      method: 'GET',
      url: `${I}/audit/events`,
      operationId: 'queryAuditEvents',
      summary: 'Query audit events (keyset pagination on seq)',
      tag: 'audit',
      params: chainParams,
      querystring: AuditQuery,
      success: { status: 200, schema: AuditEventPage },
      handler: async (input: In<unknown, P.AuditQuery>) =>
        queryAuditEvents(s.store.db, await requireChain(s, input), input.query),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/audit/verify`,
      operationId: 'verifyAuditChain',
      summary: "Recompute the instance's hash chain and name the first broken link",
      tag: 'audit',
      params: chainParams,
      success: { status: 200, schema: AuditVerifyResult },
      handler: async (input) => verifyChain(s.store.db, await requireChain(s, input)),
    },
    ...providerAdminRoutes(s),
    ...accountAdminRoutes(s),
    ...cloudAccountAdminRoutes(s),
  ]
}
