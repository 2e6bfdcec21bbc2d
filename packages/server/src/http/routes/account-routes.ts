import { Type } from '@sinclair/typebox'
import {
  Account,
  AccountListQuery,
  AccountPage,
  AccountRef,
  AccountSummaryPage,
  AccountVersionPage,
  CreateAccountBody,
  InstanceId,
  ListAccountsQuery,
  ListQuery,
  ObtainedPassword,
  ObtainedSshKey,
  ObtainPasswordBody,
  ObtainSshKeyBody,
  PutAccountVersionBody,
  Readers,
  UpdateAccountBody,
} from '@strongroom/protocol'
import { accountReaders } from '../../services/accounts/account-readers.js'
import { listAccountVersions, putAccountVersion } from '../../services/accounts/account-versions.js'
import * as accounts from '../../services/accounts/accounts.js'
import { listGrantedAccounts } from '../../services/accounts/list-granted-accounts.js'
import { obtainPassword, obtainSshKey } from '../../services/accounts/obtain-account-secret.js'
import type { Services } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

const closed = { additionalProperties: false } as const
const A = '/admin/v1/instances/:instanceId/accounts'
const instanceParams = Type.Object({ instanceId: InstanceId }, closed)
/** The account by id (`acct_…`) or name; a name's slash arrives percent-encoded (`DB-SERVER%2Fadmin`). */
const accountParams = Type.Object({ instanceId: InstanceId, account: AccountRef }, closed)

/** Administrators manage privileged accounts: `/admin/v1/instances/{i}/accounts`. */
export function accountAdminRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'accounts' } as const
  return [
    defineRoute({
      ...admin,
      method: 'POST',
      url: A,
      operationId: 'createAccount',
      summary: 'Create a privileged account (TARGET/account) with its first version of secrets',
      params: instanceParams,
      body: CreateAccountBody,
      success: { status: 201, schema: Account },
      handler: ({ caller, params, body }) => accounts.createAccount(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: A,
      operationId: 'listAccounts',
      summary: 'List accounts (never their secrets)',
      params: instanceParams,
      querystring: AccountListQuery,
      success: { status: 200, schema: AccountPage },
      handler: ({ caller, params, query }) => accounts.listAccounts(s, caller, params.instanceId, query),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:account`,
      operationId: 'getAccount',
      summary: 'Show an account by id or name (never its secrets)',
      params: accountParams,
      success: { status: 200, schema: Account },
      handler: ({ caller, params }) => accounts.getAccount(s, caller, params.instanceId, params.account),
    }),
    defineRoute({
      ...admin,
      method: 'PATCH',
      url: `${A}/:account`,
      operationId: 'updateAccount',
      summary: "Change an account's display name, description or reason policy",
      params: accountParams,
      body: UpdateAccountBody,
      success: { status: 200, schema: Account },
      handler: ({ caller, params, body }) =>
        accounts.updateAccount(s, caller, params.instanceId, params.account, body),
    }),
    ...(['disable', 'enable'] as const).map((verb) =>
      defineRoute({
        ...admin,
        method: 'POST',
        url: `${A}/:account/${verb}`,
        operationId: `${verb}Account`,
        summary: `${verb === 'enable' ? 'Enable' : 'Disable'} an account`,
        params: accountParams,
        success: { status: 200, schema: Account },
        handler: ({ caller, params }) =>
          accounts.setAccountStatus(s, caller, params.instanceId, params.account, `${verb}d`),
      }),
    ),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${A}/:account/versions`,
      operationId: 'putAccountVersion',
      summary:
        'Rotate: a new version of the password and SSH key (a field left out is kept, null removes it)',
      params: accountParams,
      body: PutAccountVersionBody,
      success: { status: 201, schema: Account },
      handler: ({ caller, params, body }) =>
        putAccountVersion(s, caller, params.instanceId, params.account, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:account/versions`,
      operationId: 'listAccountVersions',
      summary: "List an account's versions (which secrets each holds), newest first",
      params: accountParams,
      querystring: ListQuery,
      success: { status: 200, schema: AccountVersionPage },
      handler: ({ caller, params, query }) =>
        listAccountVersions(s, caller, params.instanceId, params.account, query),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${A}/:account/readers`,
      operationId: 'listAccountReaders',
      summary: 'Who can read this account: the applications whose grants let them obtain its secrets',
      params: accountParams,
      success: { status: 200, schema: Readers },
      handler: ({ caller, params }) => accountReaders(s, caller, params.instanceId, params.account),
    }),
  ]
}

/** Workloads list accounts and retrieve their passwords and SSH keys: `/v2/{i}/accounts`. */
export function accountRoutes(s: Services): RouteSpec[] {
  const pam = { auth: 'workload', tag: 'pam', params: instanceParams } as const
  const B = '/v2/:instanceId/accounts'
  return [
    defineRoute({
      ...pam,
      method: 'GET',
      url: B,
      operationId: 'ListAccounts',
      summary:
        'The accounts this application holds a read or obtain grant on (scope account:read or account:obtain)',
      querystring: ListAccountsQuery,
      success: { status: 200, schema: AccountSummaryPage },
      handler: ({ caller, params, query }) => listGrantedAccounts(s, caller, params.instanceId, query),
    }),
    defineRoute({
      ...pam,
      method: 'POST',
      url: `${B}/_/actions/obtainPassword`,
      operationId: 'ObtainAccountPassword',
      summary:
        "An account's current password (scope account:obtain, an obtain grant, a reason if the account requires one); audited before it is answered",
      body: ObtainPasswordBody,
      success: { status: 200, schema: ObtainedPassword },
      handler: ({ caller, params, body }) => obtainPassword(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...pam,
      method: 'POST',
      url: `${B}/_/actions/obtainSshKey`,
      operationId: 'ObtainAccountSshKey',
      summary:
        "An account's current SSH key, as stored or (decrypt: true) unencrypted, as PKCS#8 PEM or (format: openssh) an OpenSSH key (scope account:obtain, an obtain grant); audited before it is answered",
      body: ObtainSshKeyBody,
      success: { status: 200, schema: ObtainedSshKey },
      handler: ({ caller, params, body }) => obtainSshKey(s, caller, params.instanceId, body),
    }),
  ]
}
