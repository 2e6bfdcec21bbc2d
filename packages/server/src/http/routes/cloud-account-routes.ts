import { Type } from '@sinclair/typebox'
import {
  AddCloudAccountRoleBody,
  CloudAccount,
  CloudAccountListQuery,
  CloudAccountPage,
  CloudAccountRef,
  CloudAccountRole,
  CloudAccountRoleListQuery,
  CloudAccountRolePage,
  CloudAccountRoleRef,
  CreateCloudAccountBody,
  InstanceId,
  ObtainCloudAccessCredentialQuery,
  ObtainedCloudAccessCredential,
  RotateCloudAccountKeyBody,
  UpdateCloudAccountBody,
  UpdateCloudAccountRoleBody,
} from '@strongroom/protocol'
import * as roles from '../../services/cloud-accounts/cloud-account-roles.js'
import * as accounts from '../../services/cloud-accounts/cloud-accounts.js'
import { obtainCloudAccessCredential } from '../../services/cloud-accounts/obtain-access-credential.js'
import type { Services } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

const closed = { additionalProperties: false } as const
const A = '/admin/v1/instances/:instanceId/cloudAccounts'
const instanceParams = Type.Object({ instanceId: InstanceId }, closed)
/** The cloud account by id (`ca_…`) or name. */
const accountParams = Type.Object({ instanceId: InstanceId, cloudAccount: CloudAccountRef }, closed)
/** A role by id (`car_…`), name, or ARN (percent-encoded: `acs%3Aram%3A%3A…%2Fname`). */
const roleParams = Type.Object(
  { instanceId: InstanceId, cloudAccount: CloudAccountRef, role: CloudAccountRoleRef },
  closed,
)

/** Administrators manage cloud accounts and their roles: `/admin/v1/instances/{i}/cloudAccounts`. */
export function cloudAccountAdminRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'cloud accounts' } as const
  return [
    defineRoute({
      ...admin,
      method: 'POST',
      url: A,
      operationId: 'createCloudAccount',
      summary: 'Create a cloud account with its access key pair (the secret is never shown again)',
      params: instanceParams,
      body: CreateCloudAccountBody,
      success: { status: 201, schema: CloudAccount },
      handler: ({ caller, params, body }) => accounts.createCloudAccount(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: A,
      operationId: 'listCloudAccounts',
      summary: 'List cloud accounts (never their keys)',
      params: instanceParams,
      querystring: CloudAccountListQuery,
      success: { status: 200, schema: CloudAccountPage },
      handler: ({ caller, params, query }) => accounts.listCloudAccounts(s, caller, params.instanceId, query),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:cloudAccount`,
      operationId: 'getCloudAccount',
      summary: 'Show a cloud account by id or name (never its key)',
      params: accountParams,
      success: { status: 200, schema: CloudAccount },
      handler: ({ caller, params }) =>
        accounts.getCloudAccount(s, caller, params.instanceId, params.cloudAccount),
    }),
    defineRoute({
      ...admin,
      method: 'PATCH',
      url: `${A}/:cloudAccount`,
      operationId: 'updateCloudAccount',
      summary: "Change a cloud account's description, STS endpoint or region (null: the vendor's default)",
      params: accountParams,
      body: UpdateCloudAccountBody,
      success: { status: 200, schema: CloudAccount },
      handler: ({ caller, params, body }) =>
        accounts.updateCloudAccount(s, caller, params.instanceId, params.cloudAccount, body),
    }),
    ...(['disable', 'enable'] as const).map((verb) =>
      defineRoute({
        ...admin,
        method: 'POST',
        url: `${A}/:cloudAccount/${verb}`,
        operationId: `${verb}CloudAccount`,
        summary: `${verb === 'enable' ? 'Enable' : 'Disable'} a cloud account (a disabled one vends no credentials)`,
        params: accountParams,
        success: { status: 200, schema: CloudAccount },
        handler: ({ caller, params }) =>
          accounts.setCloudAccountStatus(s, caller, params.instanceId, params.cloudAccount, `${verb}d`),
      }),
    ),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${A}/:cloudAccount/keys`,
      operationId: 'rotateCloudAccountKey',
      summary: 'Rotate: a new access key pair becomes current (the old one is kept sealed)',
      params: accountParams,
      body: RotateCloudAccountKeyBody,
      success: { status: 201, schema: CloudAccount },
      handler: ({ caller, params, body }) =>
        accounts.rotateCloudAccountKey(s, caller, params.instanceId, params.cloudAccount, body),
    }),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${A}/:cloudAccount/roles`,
      operationId: 'addCloudAccountRole',
      summary: "Add a role of the cloud account (its ARN, checked against the account's vendor and id)",
      params: accountParams,
      body: AddCloudAccountRoleBody,
      success: { status: 201, schema: CloudAccountRole },
      handler: ({ caller, params, body }) =>
        roles.addCloudAccountRole(s, caller, params.instanceId, params.cloudAccount, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:cloudAccount/roles`,
      operationId: 'listCloudAccountRoles',
      summary: "List a cloud account's roles",
      params: accountParams,
      querystring: CloudAccountRoleListQuery,
      success: { status: 200, schema: CloudAccountRolePage },
      handler: ({ caller, params, query }) =>
        roles.listCloudAccountRoles(s, caller, params.instanceId, params.cloudAccount, query),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:cloudAccount/roles/:role`,
      operationId: 'getCloudAccountRole',
      summary: 'Show a role by id, name or ARN',
      params: roleParams,
      success: { status: 200, schema: CloudAccountRole },
      handler: ({ caller, params }) =>
        roles.getCloudAccountRole(s, caller, params.instanceId, params.cloudAccount, params.role),
    }),
    defineRoute({
      ...admin,
      method: 'PATCH',
      url: `${A}/:cloudAccount/roles/:role`,
      operationId: 'updateCloudAccountRole',
      summary: "Change a role's name, description, durations, session policy or external id",
      params: roleParams,
      body: UpdateCloudAccountRoleBody,
      success: { status: 200, schema: CloudAccountRole },
      handler: ({ caller, params, body }) =>
        roles.updateCloudAccountRole(s, caller, params.instanceId, params.cloudAccount, params.role, body),
    }),
    defineRoute({
      ...admin,
      method: 'DELETE',
      url: `${A}/:cloudAccount/roles/:role`,
      operationId: 'removeCloudAccountRole',
      summary: 'Remove a role: no workload can obtain credentials for it any more',
      params: roleParams,
      success: { status: 204, schema: null },
      handler: ({ caller, params }) =>
        roles.removeCloudAccountRole(s, caller, params.instanceId, params.cloudAccount, params.role),
    }),
    ...(['disable', 'enable'] as const).map((verb) =>
      defineRoute({
        ...admin,
        method: 'POST',
        url: `${A}/:cloudAccount/roles/:role/${verb}`,
        operationId: `${verb}CloudAccountRole`,
        summary: `${verb === 'enable' ? 'Enable' : 'Disable'} a role`,
        params: roleParams,
        success: { status: 200, schema: CloudAccountRole },
        handler: ({ caller, params }) =>
          roles.setCloudAccountRoleStatus(
            s,
            caller,
            params.instanceId,
            params.cloudAccount,
            params.role,
            `${verb}d`,
          ),
      }),
    ),
  ]
}

/** Workloads obtain STS credentials for granted roles: `/v2/{i}/cloudAccountRoles`. */
export function cloudAccountRoleRoutes(s: Services): RouteSpec[] {
  return [
    defineRoute({
      auth: 'workload',
      tag: 'pam',
      method: 'GET',
      url: '/v2/:instanceId/cloudAccountRoles/_/actions/obtainAccessCredential',
      operationId: 'ObtainCloudAccountRoleAccessCredential',
      summary:
        'Short-lived STS credentials for a role (scope cloud_account_role:obtain_access_credential, an obtain grant); audited before they are answered',
      params: instanceParams,
      querystring: ObtainCloudAccessCredentialQuery,
      success: { status: 200, schema: ObtainedCloudAccessCredential },
      handler: ({ caller, params, query }) =>
        obtainCloudAccessCredential(s, caller, params.instanceId, query),
    }),
  ]
}
