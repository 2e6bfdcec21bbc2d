import { createHash, randomBytes } from 'node:crypto'
import type { ErrorCode } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { Binding, Keyring } from '../../crypto/keyring.js'
import { PamError } from '../../errors.js'
import type { Committer } from '../../store/committer.js'
import type { Store } from '../../store/connect.js'
import type { Database, UpstreamTokenTable } from '../../store/schema.js'
import type { UpstreamToken } from './upstream-tokens.js'

/** Which shared token: a provider as it is now (its `updated_at`), and what was asked of it. */
export interface TokenSlot {
  providerId: string
  instanceId: string
  /** The provider's `updated_at`: a token fetched under other settings is not handed out. */
  generation: number
  /** Scope and custom parameters, as `UpstreamTokens` names the variant. */
  variant: string
}

/** How long the node fetching a token is waited for before another may try: the fetch's own timeout and a margin. */
const LEASE_MS = 15_000
/** How often a node waiting for another's fetch looks again, at first; doubled up to the maximum. */
const FIRST_POLL_MS = 10
const MAX_POLL_MS = 200

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Upstream tokens shared by every node through the database, so that the whole cluster makes at
 * most one upstream request per token lifetime (per provider and variant). A node that finds no
 * usable token takes a lease on the row (an atomic upsert that succeeds for one node only, and
 * only while no usable token is there) and fetches; the others wait for its answer and read it.
 * The token is sealed under the instance's data key, bound to its row, and never logged. A fetch
 * that fails is recorded too, so that those who waited for it get its error instead of each trying
 * again; a request that starts after it tries again. A node that dies while fetching holds the
 * lease for `LEASE_MS` at most. No transaction is held open while the upstream answers.
 */
export class SharedUpstreamTokens {
  /** This node, as a lease holder. */
  private readonly owner = randomBytes(12).toString('base64url')

  constructor(
    private readonly store: Store,
    private readonly committer: Committer,
    private readonly keyring: Keyring,
    private readonly now: () => number,
  ) {}

  /**
   * Runs one of the row's writes. Each is one statement, atomic alone: on PostgreSQL it runs on
   * the pool, without waiting for a batch. On SQLite it goes through the group committer, the one
   * writer of the file: with `serve --workers N` other processes write the file too, and only the
   * committer's batches take turns with theirs (store/connect.ts, `writeGuard`).
   */
  private write<T>(statement: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.store.dialect === 'postgres') return statement(this.store.db)
    return this.committer.run(({ trx }) => statement(trx))
  }

  /**
   * A usable token for `slot`: the stored one, or the one `fetch` gets, which this node calls only
   * while it holds the lease. With `fresh`, not the token stored when the call began: one fetched
   * since (by whichever node), as a caller asking to authenticate again wants.
   */
  async obtain(
    slot: TokenSlot,
    fresh: boolean,
    fetch: () => Promise<UpstreamToken>,
    usableUntil: (token: UpstreamToken) => number,
  ): Promise<UpstreamToken> {
    const key = { provider_id: slot.providerId, variant: variantKey(slot.variant) }
    const startedAt = this.now()
    /** Only a token fetched after this many fetches into the row will do. */
    let newerThan = -1
    for (let attempt = 0; ; attempt++) {
      const row = await this.store.db
        .selectFrom('upstream_tokens')
        .selectAll()
        .where('provider_id', '=', key.provider_id)
        .where('variant', '=', key.variant)
        .executeTakeFirst()
      if (fresh && attempt === 0) newerThan = row === undefined ? 0 : Number(row.fetches)
      if (row && this.usable(row, slot, newerThan)) return this.open(row, slot)
      if (
        row !== undefined &&
        row.failed_at !== null &&
        Number(row.failed_at) >= startedAt &&
        Number(row.generation) === slot.generation
      )
        throw failureOf(row)
      if (await this.lease(slot, key, newerThan)) return this.fetchHolding(slot, key, fetch, usableUntil)
      await sleep(Math.min(MAX_POLL_MS, FIRST_POLL_MS * 2 ** attempt))
    }
  }

  private usable(row: UpstreamTokenTable, slot: TokenSlot, newerThan: number): boolean {
    return (
      row.token_ciphertext !== null &&
      Number(row.generation) === slot.generation &&
      Number(row.usable_until) > this.now() &&
      Number(row.fetches) > newerThan
    )
  }

  /**
   * Takes the lease: inserts the row, or updates it only where no lease is live and no usable
   * token is there. Exactly one node's statement returns the row.
   */
  private async lease(
    slot: TokenSlot,
    key: { provider_id: string; variant: string },
    newerThan: number,
  ): Promise<boolean> {
    const now = this.now()
    const taken = await this.write((db) =>
      db
        .insertInto('upstream_tokens')
        .values({
          ...key,
          instance_id: slot.instanceId,
          generation: slot.generation,
          fetches: 0,
          token_ciphertext: null,
          key_version: null,
          token_type: null,
          scope: null,
          obtained_at: null,
          expires_at: null,
          usable_until: null,
          lease_owner: this.owner,
          lease_until: now + LEASE_MS,
          failed_at: null,
          failure: null,
        })
        .onConflict((oc) =>
          oc
            .columns(['provider_id', 'variant'])
            .doUpdateSet({
              lease_owner: (eb) => eb.ref('excluded.lease_owner'),
              lease_until: (eb) => eb.ref('excluded.lease_until'),
            })
            .where((eb) =>
              eb.and([
                eb.or([
                  eb('upstream_tokens.lease_until', 'is', null),
                  eb('upstream_tokens.lease_until', '<', now),
                ]),
                eb.or([
                  eb('upstream_tokens.token_ciphertext', 'is', null),
                  eb('upstream_tokens.generation', '<>', slot.generation),
                  eb('upstream_tokens.usable_until', '<=', now),
                  eb('upstream_tokens.fetches', '<=', newerThan),
                ]),
              ]),
            ),
        )
        .returning('lease_owner')
        .executeTakeFirst(),
    )
    return taken?.lease_owner === this.owner
  }

  /**
   * Fetches while holding the lease, and stores the token. Whatever fails (the upstream, sealing,
   * the store's write), the lease is released in `finally`: otherwise every node would wait out
   * `LEASE_MS` on each call until the lease ran out, and then fail the same way. A `PamError` is
   * recorded for those who waited for this fetch; any other failure is not (the next caller tries
   * again).
   */
  private async fetchHolding(
    slot: TokenSlot,
    key: { provider_id: string; variant: string },
    fetch: () => Promise<UpstreamToken>,
    usableUntil: (token: UpstreamToken) => number,
  ): Promise<UpstreamToken> {
    let stored = false
    let failure: string | null = null
    try {
      const token = await fetch()
      const sealed = await this.keyring.encrypt(
        this.store.db,
        tokenBinding(slot.instanceId, key),
        Buffer.from(token.accessToken, 'utf8'),
      )
      await this.write((db) =>
        db
          .updateTable('upstream_tokens')
          .set((eb) => ({
            generation: slot.generation,
            fetches: eb('fetches', '+', 1),
            token_ciphertext: sealed.ciphertext,
            key_version: sealed.keyVersion,
            token_type: token.tokenType,
            scope: token.scope,
            obtained_at: token.obtainedAt,
            expires_at: token.expiresAt,
            usable_until: usableUntil(token),
            lease_owner: null,
            lease_until: null,
            failed_at: null,
            failure: null,
          }))
          .where('provider_id', '=', key.provider_id)
          .where('variant', '=', key.variant)
          .execute(),
      )
      stored = true
      return token
    } catch (err) {
      // Those who waited for this fetch get its error; the lease goes, so the next request tries again.
      if (err instanceof PamError)
        failure = JSON.stringify({ code: err.code, message: err.message, field: err.field, rule: err.rule })
      throw err
    } finally {
      if (!stored)
        await this.write((db) =>
          db
            .updateTable('upstream_tokens')
            .set({
              lease_owner: null,
              lease_until: null,
              failed_at: failure === null ? null : this.now(),
              failure,
            })
            .where('provider_id', '=', key.provider_id)
            .where('variant', '=', key.variant)
            .where('lease_owner', '=', this.owner)
            .execute(),
        ).catch(() => {})
    }
  }

  private async open(row: UpstreamTokenTable, slot: TokenSlot): Promise<UpstreamToken> {
    const plaintext = await this.keyring.decrypt(
      this.store.db,
      tokenBinding(slot.instanceId, { provider_id: row.provider_id, variant: row.variant }),
      { ciphertext: row.token_ciphertext!, keyVersion: Number(row.key_version) },
    )
    return {
      accessToken: plaintext.toString('utf8'),
      tokenType: row.token_type ?? 'Bearer',
      scope: row.scope ?? '',
      obtainedAt: Number(row.obtained_at),
      expiresAt: Number(row.expires_at),
      records: new Map(),
    }
  }
}

/** The variant as a key: it holds the caller's custom parameters, of any length. */
function variantKey(variant: string): string {
  return createHash('sha256').update(variant).digest('base64url')
}

function tokenBinding(instanceId: string, key: { provider_id: string; variant: string }): Binding {
  return {
    instanceId,
    table: 'upstream_tokens',
    recordId: `${key.provider_id}/${key.variant}`,
    field: 'access_token',
    version: 1,
  }
}

/** The error a failed fetch recorded, for those who waited for it. */
function failureOf(row: UpstreamTokenTable): PamError {
  const f = JSON.parse(row.failure ?? '{}') as {
    code?: ErrorCode
    message?: string
    field?: string
    rule?: string
  }
  return new PamError(f.code ?? 'UpstreamUnavailable', f.message ?? 'the upstream token endpoint failed', {
    ...(f.field === undefined ? {} : { field: f.field }),
    ...(f.rule === undefined ? {} : { rule: f.rule }),
  })
}
