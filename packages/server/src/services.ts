import type { Actor, RequestMeta } from './audit/appender.js'
import type { Keyring } from './crypto/keyring.js'
import type { ServerMetrics } from './metrics/server-metrics.js'
import type { AccessTokenClaims } from './oauth/access-tokens.js'
import type { SigningKeys } from './oauth/signing-keys.js'
import type { ServiceLog } from './services/best-effort.js'
import type { AssumedRoles } from './services/cloud-accounts/assumed-roles.js'
import type { ProviderRuntime } from './services/providers/provider-runtime.js'
import type { ChangeFeed } from './store/changes.js'
import type { Committer } from './store/committer.js'
import type { Store } from './store/connect.js'

/** What every service needs: storage, the group committer, keys and a clock. Built once at start. */
export interface Services {
  readonly store: Store
  readonly committer: Committer
  /**
   * This node's reader of the durable change sequence: a cache that another node's change could
   * make wrong syncs with it before trusting an entry (store/changes.ts).
   */
  readonly changes: ChangeFeed
  readonly keyring: Keyring
  readonly now: () => number
  /** The instance created by the bootstrap: the default of the CLI's `--instance`. */
  readonly defaultInstanceId: string
  readonly signingKeys: SigningKeys
  /** Upstream tokens and provider signing keys held in memory by this node. */
  readonly providers: ProviderRuntime
  /** STS credentials held by this node, and the STS client that obtains them. */
  readonly assumedRoles: AssumedRoles
  /** This server's metrics: observed by the HTTP layer and the committer, exposed on `/metrics`. */
  readonly metrics: ServerMetrics
  /**
   * The server's external base URL (`https://pam.example.com`): issuers and endpoint URLs are
   * built on it. Configured, or the listening address once the server listens.
   */
  publicUrl: string
  /**
   * Where services warn about what they do not fail on (a best-effort audit event that could not be
   * written). Silent until the HTTP application is built, which sets its own logger here.
   */
  log: ServiceLog
}

/** Who is calling, established by the HTTP layer before a service runs. */
export interface Caller {
  readonly actor: Actor
  /** An admin token limited to one instance carries it here; null means every instance. */
  readonly instanceScope: string | null
  readonly request: RequestMeta
  /** Set when a workload calls the developer API with an access token. */
  readonly workload?: Workload
}

/** An application calling the developer API, as its access token says. */
export interface Workload {
  /** The application holding the token: the token's client. */
  readonly applicationId: string
  readonly clientId: string
  /** The token's scope values, `.all` expanded. */
  readonly scopes: ReadonlySet<string>
  readonly tokenId: string
  /**
   * The verified claims of the token presented (frozen): its `exp`, `sub`, and for a key-bound
   * token its `cnf.jkt` and `sid`. What is derived from it must not outlive or widen it.
   */
  readonly claims: Readonly<AccessTokenClaims>
  /**
   * The instance's signing key the token verified with, read again in the unit of work with the
   * token's revocation; null for a caller that presented no token of ours (an OCI request signature).
   */
  readonly signingKid: string | null
}

export { SYSTEM_CHAIN } from './audit/chain.js'
