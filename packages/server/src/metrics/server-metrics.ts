import type { Keyring } from '../crypto/keyring.js'
import { verifiedTokenCacheStats } from '../oauth/access-tokens.js'
import type { SigningKeys } from '../oauth/signing-keys.js'
import type { ProviderRuntime } from '../services/providers/provider-runtime.js'
import type { CommitObserver, Committer } from '../store/committer.js'
import type { Store } from '../store/connect.js'
import type { CacheStats } from './cache-stats.js'
import { Counter } from './counter.js'
import { Histogram } from './histogram.js'
import { HttpMetrics, LATENCY_BUCKETS } from './http-metrics.js'
import { ProcessMetrics } from './process-metrics.js'
import { MetricsRegistry, type Sample } from './registry.js'

/** What the metrics read at scrape time: the parts of the server that keep the figures. */
export interface MetricSources {
  readonly store: Store
  readonly committer: Committer
  readonly keyring: Keyring
  readonly signingKeys: SigningKeys
  readonly providers: ProviderRuntime
  /** STS credentials held for reuse (structural: metrics need only the figures). */
  readonly assumedRoles: { readonly cacheStats: CacheStats }
}

/** Where a refused (throttled) authentication was: the admin API, the developer API, the OAuth endpoints. */
const THROTTLE_SURFACES = ['admin', 'workload', 'oauth'] as const
export type ThrottleSurface = (typeof THROTTLE_SURFACES)[number]

/** Units of work per group commit; the committer takes 256 at most. */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256]

/**
 * Every metric one server exposes. Nothing secret is ever a label or a value, and every label
 * comes from a fixed set (route patterns, cache names, surfaces): no id, token or URL.
 */
export class ServerMetrics {
  readonly registry = new MetricsRegistry()
  readonly http: HttpMetrics
  readonly commits: CommitObserver
  readonly process: ProcessMetrics
  /**
   * Log lines dropped because the log could not take them, read at scrape time. Set where the
   * log destination is built; while unset the metric is left out.
   */
  logLinesDropped: (() => number) | null = null
  private sources: MetricSources | null = null
  private gather: (() => Promise<string>) | null = null
  private readonly throttled: Counter

  constructor() {
    const r = this.registry
    this.http = new HttpMetrics(r)
    this.throttled = r.register(
      new Counter(
        'strongroom_throttled_requests_total',
        'Requests refused with 429 because their address (or OAuth client) failed to authenticate too often, by surface',
        ['surface'],
      ),
    )
    // Present at 0 from the start, so that a rate over the first refusal is not lost.
    for (const surface of THROTTLE_SURFACES) this.throttled.labels(surface)
    r.readAtScrape(
      'strongroom_audit_queue_depth',
      'Units of work (writes with their audit events) waiting for the group committer',
      'gauge',
      [],
      () => (this.sources ? [{ value: this.sources.committer.queueDepth }] : []),
    )
    const duration = r
      .register(
        new Histogram(
          'strongroom_audit_commit_duration_seconds',
          'Group commits: time from the start of the transaction to the commit returning (durable)',
          [],
          LATENCY_BUCKETS,
        ),
      )
      .labels()
    const size = r
      .register(
        new Histogram(
          'strongroom_audit_commit_batch_size',
          'Units of work committed together in one transaction',
          [],
          BATCH_SIZE_BUCKETS,
        ),
      )
      .labels()
    const failures = r
      .register(
        new Counter(
          'strongroom_audit_commit_failures_total',
          'Group commits that failed: every unit of the batch was refused, nothing of it written',
        ),
      )
      .labels()
    // With `serve --workers N` on SQLite (cluster/write-lock.ts); 0 otherwise. The rate of `held`
    // summed over the workers is the share of the time the lock is taken: near 1, the one file's
    // writes are the ceiling, and more workers cannot serve more.
    const lockWait = r
      .register(
        new Counter(
          'strongroom_write_lock_wait_seconds_total',
          "Time this worker's group commits waited for the write lock the workers of one SQLite file share",
        ),
      )
      .labels()
    const lockHeld = r
      .register(
        new Counter(
          'strongroom_write_lock_held_seconds_total',
          "Time this worker's group commits held the write lock the workers of one SQLite file share",
        ),
      )
      .labels()
    this.commits = {
      committed(units, seconds) {
        duration.observe(seconds)
        size.observe(units)
      },
      failed() {
        failures.inc()
      },
      locked(waited, held) {
        lockWait.inc(waited)
        lockHeld.inc(held)
      },
    }
    r.readAtScrape(
      'strongroom_log_lines_dropped_total',
      'Log lines dropped because the log destination could not take them',
      'counter',
      [],
      () => (this.logLinesDropped ? [{ value: this.logLinesDropped() }] : []),
    )
    r.readAtScrape(
      'strongroom_cache_lookups_total',
      'Lookups of the in-memory caches by cache and result (hit, miss): the hit ratio is hit / (hit + miss)',
      'counter',
      ['cache', 'result'],
      () => this.cacheSamples(),
    )
    r.readAtScrape(
      'strongroom_db_pool_connections',
      'PostgreSQL pool connections by state (idle, in_use), and the pool maximum (max)',
      'gauge',
      ['state'],
      () => {
        const pool = this.sources?.store.poolStats?.()
        if (!pool) return []
        return [
          { labels: ['idle'], value: pool.idle },
          { labels: ['in_use'], value: pool.total - pool.idle },
          { labels: ['max'], value: pool.max },
        ]
      },
    )
    r.readAtScrape(
      'strongroom_db_pool_waiting_queries',
      'PostgreSQL queries waiting for a pool connection',
      'gauge',
      [],
      () => {
        const pool = this.sources?.store.poolStats?.()
        return pool ? [{ value: pool.waiting }] : []
      },
    )
    this.process = new ProcessMetrics(r)
  }

  /** Binds the parts read at scrape time, once the server's services exist. */
  readFrom(sources: MetricSources): void {
    this.sources = sources
  }

  /** An increment for refusals on `surface`: the throttle calls it each time it answers 429. */
  throttledOn(surface: ThrottleSurface): () => void {
    const child = this.throttled.labels(surface)
    return () => child.inc()
  }

  /** This process's exposition, in the Prometheus text format 0.0.4. */
  expose(): string {
    return this.registry.expose()
  }

  /**
   * The whole server's exposition: this process's, or, in a worker of `serve --workers N`, every
   * worker's merged by the primary (cluster/metrics.ts), as set by `gatherWith`.
   */
  exposeServer(): Promise<string> {
    return this.gather ? this.gather() : Promise.resolve(this.expose())
  }

  /** In a worker: how the whole server's metrics are had (cluster/worker.ts). */
  gatherWith(gather: () => Promise<string>): void {
    this.gather = gather
  }

  close(): void {
    this.process.close()
  }

  private cacheSamples(): Sample[] {
    const s = this.sources
    if (!s) return []
    const caches: [string, CacheStats | undefined][] = [
      ['verified_access_tokens', verifiedTokenCacheStats(s.signingKeys)],
      ['signing_keys', s.signingKeys.cacheStats],
      ['data_keys', s.keyring.dataKeyCache],
      ['provider_signing_keys', s.providers.signingKeyCache],
      ['upstream_tokens', s.providers.upstream.cacheStats],
      ['sts_credentials', s.assumedRoles.cacheStats],
      ['sqlite_statements', s.store.statementCache],
    ]
    const samples: Sample[] = []
    for (const [name, stats] of caches) {
      if (!stats) continue
      samples.push(
        { labels: [name, 'hit'], value: stats.hits },
        { labels: [name, 'miss'], value: stats.misses },
      )
    }
    return samples
  }
}
