import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ParsedFamily,
  parsePrometheusText,
  samplesOf,
  sampleValue,
} from '../../../../test/support/prometheus-text.js'
import { mintSecret } from '../../src/crypto/minted-secret.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { createWorkload } from './accounts-fixtures.js'

const DURATION = 'strongroom_http_request_duration_seconds'

describe.each(ENGINES)('GET /admin/v1/metrics on %s', (engine) => {
  let t: TestServer
  beforeAll(async () => {
    t = await openTestServer(engine, { app: { authFailures: { burst: 2, refillPerSecond: 0.01 } } })
  })
  afterAll(async () => t?.close())

  const scrape = async (): Promise<Map<string, ParsedFamily>> => {
    const res = await t.app.inject({ method: 'GET', url: '/admin/v1/metrics', headers: t.auth })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    return parsePrometheusText(res.body)
  }

  it('is for operator tokens: 401 without a token, 403 for a token of one instance', async () => {
    expect((await call(t, 'GET', '/admin/v1/metrics', undefined, {})).status).toBe(401)
    const scoped = await call(t, 'POST', '/admin/v1/admin-tokens', { name: 'one', instanceId: t.instanceId })
    const refused = await call(t, 'GET', '/admin/v1/metrics', undefined, {
      authorization: `Bearer ${scoped.body.token}`,
    })
    expect(refused.status).toBe(403)
    expect(refused.body.Message).toMatch(/operator tokens only/)
  })

  it('labels requests by route pattern, method and status, never by the URL', async () => {
    const id = `cred_${'x'.repeat(20)}`
    await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/credentials/${id}`)
    await call(t, 'GET', `/no/such/route/${id}`)
    const res = await t.app.inject({ method: 'GET', url: '/admin/v1/metrics', headers: t.auth })
    expect(res.body).not.toContain(id)
    expect(res.body).not.toContain(t.instanceId)
    const m = parsePrometheusText(res.body)
    expect(m.get(DURATION)?.type).toBe('histogram')
    const route = '/admin/v1/instances/:instanceId/credentials/:credential'
    expect(sampleValue(m, `${DURATION}_count`, { route, method: 'GET', status: '404' })).toBe(1)
    expect(sampleValue(m, `${DURATION}_count`, { route: 'unmatched', method: 'GET', status: '404' })).toBe(1)
    expect(sampleValue(m, `${DURATION}_count`, { route: '/admin/v1/metrics', status: '401' })).toBe(1)
  })

  it('counts group commits, throttled refusals and cache lookups', async () => {
    const before = await scrape()
    const commits = (m: Map<string, ParsedFamily>) =>
      sampleValue(m, 'strongroom_audit_commit_batch_size_count')
    const workload = await createWorkload(t, 'metrics')
    const token = await workload.token()
    for (let i = 0; i < 3; i++) {
      const res = await call(
        t,
        'GET',
        `/v2/${t.instanceId}/credentials/_/actions/obtain?credentialIdentifier=none`,
        undefined,
        {
          authorization: `Bearer ${token}`,
        },
      )
      // Refused (no grant) after the token was verified: what counts here is the token cache.
      expect(res.status).toBe(403)
    }
    const bad = { authorization: `Bearer ${mintSecret('srat_')}` }
    const statuses = []
    for (let i = 0; i < 4; i++)
      statuses.push((await call(t, 'GET', '/admin/v1/whoami', undefined, bad)).status)
    // The burst is two failures from this address (earlier tests spent some of it).
    const refusals = statuses.filter((s) => s === 429).length
    expect(refusals).toBeGreaterThanOrEqual(2)

    const after = await scrape()
    expect(commits(after)).toBeGreaterThan(commits(before))
    expect(sampleValue(after, 'strongroom_audit_commit_failures_total')).toBe(0)
    expect(sampleValue(after, 'strongroom_audit_queue_depth')).toBe(0)
    const throttled = (m: Map<string, ParsedFamily>) =>
      sampleValue(m, 'strongroom_throttled_requests_total', { surface: 'admin' })
    expect(throttled(after) - throttled(before)).toBe(refusals)
    expect(sampleValue(after, 'strongroom_throttled_requests_total', { surface: 'workload' })).toBe(0)
    const tokens = { cache: 'verified_access_tokens' }
    expect(sampleValue(after, 'strongroom_cache_lookups_total', { ...tokens, result: 'hit' })).toBe(2)
    expect(sampleValue(after, 'strongroom_cache_lookups_total', { ...tokens, result: 'miss' })).toBe(1)
    // The log destination is wired where the server is started; without it the metric is left out.
    expect(after.has('strongroom_log_lines_dropped_total')).toBe(false)
    expect(sampleValue(after, 'process_resident_memory_bytes')).toBeGreaterThan(0)
    expect(samplesOf(after, 'nodejs_eventloop_delay_seconds')).toHaveLength(3)
  })

  it(`reports the database pool ${engine === 'postgres' ? 'of PostgreSQL' : 'only on PostgreSQL'}`, async () => {
    const m = await scrape()
    if (engine === 'postgres') {
      expect(sampleValue(m, 'strongroom_db_pool_connections', { state: 'max' })).toBe(10)
      expect(sampleValue(m, 'strongroom_db_pool_connections', { state: 'idle' })).toBeGreaterThan(0)
      expect(sampleValue(m, 'strongroom_db_pool_waiting_queries')).toBe(0)
      expect(samplesOf(m, 'strongroom_cache_lookups_total', { cache: 'sqlite_statements' })).toEqual([])
    } else {
      expect(m.has('strongroom_db_pool_connections')).toBe(false)
      expect(
        sampleValue(m, 'strongroom_cache_lookups_total', { cache: 'sqlite_statements', result: 'hit' }),
      ).toBeGreaterThan(0)
    }
  })

  it('is described in /openapi.json as text', async () => {
    const doc = (await call(t, 'GET', '/openapi.json')).body
    const ok = doc.paths['/admin/v1/metrics'].get.responses['200']
    expect(Object.keys(ok.content)).toEqual(['text/plain; version=0.0.4; charset=utf-8'])
  })
})

describe('the group-commit metrics', () => {
  it('count a commit that fails, and its batch is not counted as committed', async () => {
    const t = await openTestServer('sqlite')
    try {
      const m = () => parsePrometheusText(t.services.metrics.expose())
      const committedBefore = sampleValue(m(), 'strongroom_audit_commit_batch_size_count')
      await t.services.store.close()
      await expect(t.services.committer.run(async () => 1)).rejects.toMatchObject({ status: 503 })
      expect(sampleValue(m(), 'strongroom_audit_commit_failures_total')).toBe(1)
      expect(sampleValue(m(), 'strongroom_audit_commit_batch_size_count')).toBe(committedBefore)
    } finally {
      await t.close()
    }
  })
})
