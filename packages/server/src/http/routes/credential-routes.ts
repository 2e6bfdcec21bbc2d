import { Type } from '@sinclair/typebox'
import {
  CreateCredentialBody,
  Credential,
  CredentialListQuery,
  CredentialPage,
  CredentialVersionPage,
  InstanceId,
  idOrIdentifier,
  ListQuery,
  ObtainCredentialQuery,
  ObtainedCredential,
  PutCredentialVersionBody,
  Readers,
  RevealCredentialBody,
  RevealedCredential,
  UpdateCredentialBody,
} from '@strongroom/protocol'
import { credentialReaders } from '../../services/credentials/credential-readers.js'
import * as credentials from '../../services/credentials/credentials.js'
import { obtainCredential } from '../../services/credentials/obtain-credential.js'
import type { Services } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

const closed = { additionalProperties: false } as const
const C = '/admin/v1/instances/:instanceId/credentials'
const instanceParams = Type.Object({ instanceId: InstanceId }, closed)
const credentialParams = Type.Object(
  {
    instanceId: InstanceId,
    credential: idOrIdentifier('cred', 'credential id or identifier'),
  },
  closed,
)

/** Administrators manage credentials and their versions: `/admin/v1/instances/{i}/credentials`. */
export function credentialAdminRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'credentials' } as const
  return [
    defineRoute({
      ...admin,
      method: 'POST',
      url: C,
      operationId: 'createCredential',
      summary: 'Create a credential with its first version',
      params: instanceParams,
      body: CreateCredentialBody,
      success: { status: 201, schema: Credential },
      handler: ({ caller, params, body }) => credentials.createCredential(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: C,
      operationId: 'listCredentials',
      summary: 'List credentials (metadata only)',
      params: instanceParams,
      querystring: CredentialListQuery,
      success: { status: 200, schema: CredentialPage },
      handler: ({ caller, params, query }) =>
        credentials.listCredentials(s, caller, params.instanceId, query),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${C}/:credential`,
      operationId: 'getCredential',
      summary: 'Show a credential (metadata only)',
      params: credentialParams,
      success: { status: 200, schema: Credential },
      handler: ({ caller, params }) =>
        credentials.getCredential(s, caller, params.instanceId, params.credential),
    }),
    defineRoute({
      ...admin,
      method: 'PATCH',
      url: `${C}/:credential`,
      operationId: 'updateCredential',
      summary: "Update a credential's name or description",
      params: credentialParams,
      body: UpdateCredentialBody,
      success: { status: 200, schema: Credential },
      handler: ({ caller, params, body }) =>
        credentials.updateCredential(s, caller, params.instanceId, params.credential, body),
    }),
    ...(['disable', 'enable'] as const).map((verb) =>
      defineRoute({
        ...admin,
        method: 'POST',
        url: `${C}/:credential/${verb}`,
        operationId: `${verb}Credential`,
        summary: `${verb === 'enable' ? 'Enable' : 'Disable'} a credential`,
        params: credentialParams,
        success: { status: 200, schema: Credential },
        handler: ({ caller, params }) =>
          credentials.setCredentialStatus(s, caller, params.instanceId, params.credential, `${verb}d`),
      }),
    ),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${C}/:credential/versions`,
      operationId: 'putCredentialVersion',
      summary: 'Rotate: store a new version and make it current',
      params: credentialParams,
      body: PutCredentialVersionBody,
      success: { status: 201, schema: Credential },
      handler: ({ caller, params, body }) =>
        credentials.putCredentialVersion(s, caller, params.instanceId, params.credential, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${C}/:credential/versions`,
      operationId: 'listCredentialVersions',
      summary: 'List versions (metadata only), newest first',
      params: credentialParams,
      querystring: ListQuery,
      success: { status: 200, schema: CredentialVersionPage },
      handler: ({ caller, params, query }) =>
        credentials.listCredentialVersions(s, caller, params.instanceId, params.credential, query),
    }),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${C}/:credential/reveal`,
      operationId: 'revealCredential',
      summary: 'Reveal the current value (audited; answered only once the audit event is durable)',
      params: credentialParams,
      body: RevealCredentialBody,
      success: { status: 200, schema: RevealedCredential },
      handler: ({ caller, params, body }) =>
        credentials.revealCredential(s, caller, params.instanceId, params.credential, body.reason),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${C}/:credential/readers`,
      operationId: 'listCredentialReaders',
      summary: 'Who can read this credential: the applications whose grants let them obtain it',
      params: credentialParams,
      success: { status: 200, schema: Readers },
      handler: ({ caller, params }) => credentialReaders(s, caller, params.instanceId, params.credential),
    }),
  ]
}

/** Workloads read a credential's current value: ObtainCredential, `/v2/{i}/credentials`. */
export function credentialRoutes(s: Services): RouteSpec[] {
  return [
    defineRoute({
      auth: 'workload',
      tag: 'pam',
      method: 'GET',
      url: '/v2/:instanceId/credentials/_/actions/obtain',
      operationId: 'ObtainCredential',
      summary:
        'The current value of a credential (scope credential:obtain, an obtain grant); audited before it is answered',
      params: instanceParams,
      querystring: ObtainCredentialQuery,
      success: { status: 200, schema: ObtainedCredential },
      handler: ({ caller, params, query }) =>
        obtainCredential(s, caller, params.instanceId, query.credentialIdentifier),
    }),
  ]
}
