import type { PamOperation } from './pam-operations.js'

/**
 * strongroom's own operations beyond the IDaaS contract (`packages/protocol`: `accounts.ts`,
 * `scoped-tokens.ts`), under the same `{endpoint}/v2/{instanceId}/`. They are sent without the
 * `x-acs-*` headers of the IDaaS API, which does not know them.
 *
 * - Idempotent: the reads. Not the token issues: a repeat mints a second token. Not the refresh:
 *   it renews the session's token. (Every attempt carries a new proof, which a server accepts
 *   once only; the revoke is idempotent.)
 * - Bearer: all but the refresh and the revoke of a session, which are authenticated by the
 *   session's token and a proof of its key.
 */
export const STRONGROOM_OPERATIONS = {
  ListAccounts: { method: 'GET', path: 'accounts', bearer: true, idempotent: true },
  ObtainPassword: {
    method: 'POST',
    path: 'accounts/_/actions/obtainPassword',
    bearer: true,
    idempotent: true,
  },
  ObtainSshKey: { method: 'POST', path: 'accounts/_/actions/obtainSshKey', bearer: true, idempotent: true },
  IssueScopedToken: {
    method: 'POST',
    path: 'scopedTokens/_/actions/issue',
    bearer: true,
    idempotent: false,
  },
  IssueSessionToken: {
    method: 'POST',
    path: 'sessionTokens/_/actions/issue',
    bearer: true,
    idempotent: false,
  },
  RefreshSessionToken: {
    method: 'POST',
    path: 'sessionTokens/_/actions/refresh',
    bearer: false,
    idempotent: false,
  },
  RevokeSessionToken: {
    method: 'POST',
    path: 'sessionTokens/_/actions/revoke',
    bearer: false,
    idempotent: true,
  },
} as const satisfies Record<string, PamOperation>

/** The name of one of strongroom's own operations, e.g. `ObtainPassword`. */
export type StrongroomAction = keyof typeof STRONGROOM_OPERATIONS
