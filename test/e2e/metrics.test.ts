import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ParsedFamily, parsePrometheusText, samplesOf, sampleValue } from '../support/prometheus-text.js'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { ok, okJson } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'
const DURATION = 'strongroom_http_request_duration_seconds'
const OBTAIN_ROUTE = '/v2/:instanceId/credentials/_/actions/obtain'

describe('metrics of a running server', () => {
  let server: ServerProcess
  let metricsUrl: string
  beforeAll(async () => {
    server = await startServer({ args: ['--metrics-listen', '127.0.0.1:0'] })
    // The listener's address (port 0 picked one) is in its start-up log line, which may reach
    // the pipe a moment after /readyz first answers (a loaded machine showed it).
    const metricsLine = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/
    let found = metricsLine.exec(server.logs())
    for (const deadline = Date.now() + 10_000; !found && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      found = metricsLine.exec(server.logs())
    }
    if (!found) throw new Error(`no metrics URL in the logs:\n${server.logs()}`)
    metricsUrl = found[1]!
  })
  afterAll(async () => server?.stop())

  const scrapeListener = async (): Promise<{ text: string; families: Map<string, ParsedFamily> }> => {
    const res = await fetch(metricsUrl)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await res.text()
    return { text, families: parsePrometheusText(text) }
  }

  it('parse strictly, change under load, and never hold the secrets that went through', async () => {
    const before = await scrapeListener()
    // Before the refused tokens below throttle this address: the admin route wants a token.
    expect((await fetch(`${server.url}/admin/v1/metrics`)).status).toBe(401)
    const canary = `CANARY-metrics-${randomBytes(12).toString('hex')}`
    await ok(server, ['credential', 'create', '--identifier', 'm/api', '--type', 'api_key'], `${canary}\n`)
    const app = await okJson(server, ['app', 'create', '--name', 'metrics-load', '--scope', `${PAM}|.all`])
    const clientSecret = (await okJson(server, ['app', 'secret', 'create', app.applicationId]))
      .clientSecret as string
    await ok(server, [
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'credential',
      '--resource',
      'm/api',
      '--actions',
      'obtain',
    ])
    const base = `${server.url}/v2/${app.instanceId}`
    const issued = await fetch(`${base}/authorizationServer/iauths_system/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: clientSecret,
        scope: `${PAM}|.all`,
      }),
    })
    expect(issued.status).toBe(200)
    const accessToken = ((await issued.json()) as { access_token: string }).access_token

    // Load: 200 reads of the canary, 25 at a time, and a burst of refused admin tokens.
    const obtain = async () => {
      const res = await fetch(`${base}/credentials/_/actions/obtain?credentialIdentifier=m/api`, {
        headers: { authorization: `Bearer ${accessToken}` },
      })
      const body = (await res.json()) as { credentialContent: { apiKeyContent: { apiKey: string } } }
      return body.credentialContent.apiKeyContent.apiKey
    }
    for (let round = 0; round < 8; round++) {
      const values = await Promise.all(Array.from({ length: 25 }, obtain))
      expect(new Set(values)).toEqual(new Set([canary]))
    }
    const badToken = `srat_${randomBytes(24).toString('base64url')}`
    const refused = await Promise.all(
      Array.from({ length: 30 }, () =>
        fetch(`${server.url}/admin/v1/whoami`, { headers: { authorization: `Bearer ${badToken}` } }).then(
          (r) => r.status,
        ),
      ),
    )
    const throttledNow = refused.filter((s) => s === 429).length
    expect(throttledNow).toBeGreaterThan(0)

    const after = await scrapeListener()
    const m = after.families
    // Absent before the first such request: a sum over no sample is 0.
    const obtained = (f: Map<string, ParsedFamily>) =>
      samplesOf(f, `${DURATION}_count`, { route: OBTAIN_ROUTE, method: 'GET', status: '200' }).reduce(
        (sum, s) => sum + s.value,
        0,
      )
    expect(obtained(m) - obtained(before.families)).toBe(200)
    const commits = (f: Map<string, ParsedFamily>) => sampleValue(f, 'strongroom_audit_commit_batch_size_sum')
    // Each read is audited: at least 200 units of work more went through the group committer.
    expect(commits(m) - commits(before.families)).toBeGreaterThanOrEqual(200)
    expect(sampleValue(m, 'strongroom_audit_commit_duration_seconds_count')).toBeGreaterThan(
      sampleValue(before.families, 'strongroom_audit_commit_duration_seconds_count'),
    )
    const hits = (f: Map<string, ParsedFamily>) =>
      sampleValue(f, 'strongroom_cache_lookups_total', { cache: 'verified_access_tokens', result: 'hit' })
    expect(hits(m) - hits(before.families)).toBeGreaterThanOrEqual(199)
    expect(sampleValue(m, 'strongroom_throttled_requests_total', { surface: 'admin' })).toBe(throttledNow)
    expect(sampleValue(m, 'strongroom_http_open_connections')).toBeGreaterThanOrEqual(0)

    // What went through the server, secret or identifying, is in no line.
    const adminToken = await server.adminToken()
    for (const value of [
      canary,
      clientSecret,
      accessToken,
      adminToken,
      badToken,
      app.applicationId,
      app.instanceId,
    ])
      expect(after.text).not.toContain(value)

    // The admin route serves the same exposition, to an operator token.
    const viaAdmin = await fetch(`${server.url}/admin/v1/metrics`, {
      headers: { authorization: `Bearer ${adminToken}` },
    })
    expect(viaAdmin.status).toBe(200)
    const adminText = await viaAdmin.text()
    for (const value of [canary, clientSecret, accessToken, adminToken])
      expect(adminText).not.toContain(value)
    const adminFamilies = parsePrometheusText(adminText)
    expect([...adminFamilies.keys()]).toEqual([...m.keys()])
  })

  it('serves nothing else on the metrics listener', async () => {
    const other = await fetch(metricsUrl.replace(/\/metrics$/, '/admin/v1/whoami'))
    expect(other.status).toBe(404)
    await other.body?.cancel()
    const post = await fetch(metricsUrl, { method: 'POST' })
    expect(post.status).toBe(405)
    await post.body?.cancel()
  })
})
