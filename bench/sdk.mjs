// @ts-check
/**
 * The SDK's overhead, measured in the orchestrator's process against a real strongroom server:
 *
 * - `getApiKey` with a warm token against a raw `fetch` of the same ObtainCredential request (same
 *   bearer token, same JSON parsing of the answer), at the same concurrency, alternated
 *   raw/SDK/raw/SDK so that a change on the machine hits both; the ratio is SDK ÷ raw.
 * - 1,000 concurrent `getApiKey` calls on a cold client: the time until all have answered, and how
 *   many token requests they caused (the token endpoint is counted through an injected `fetch`).
 *
 * Both sides run in this process while the server runs in its own, so what differs between the two
 * figures is the SDK's own work per call: options, headers, retries bookkeeping, token cache,
 * parsing into redacted result objects.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { repoRoot } from './servers.mjs'

const CONCURRENCY = 16
const CREDENTIAL = 'demo/api-key'

/**
 * @param {() => Promise<unknown>} call
 * @param {number} durationMs
 */
async function closedLoops(call, durationMs) {
  /** @type {number[]} */
  const latencies = []
  let errors = 0
  const end = performance.now() + durationMs
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      try {
        await call()
        latencies.push(performance.now() - t0)
      } catch {
        errors++
      }
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, loop))
  const elapsed = performance.now() - started
  latencies.sort((a, b) => a - b)
  const at = (/** @type {number} */ q) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
  return {
    rps: (latencies.length / elapsed) * 1000,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    calls: latencies.length,
    errors,
  }
}

/**
 * @param {{ server: { baseUrl: string, dataDir: string }, warmupMs: number, durationMs: number, log: (m: string) => void }} options
 */
export async function measureSdk({ server, warmupMs, durationMs, log }) {
  /** @type {typeof import('../packages/sdk/dist/index.js')} */
  const sdk = await import(pathToFileURL(join(repoRoot, 'packages/sdk/dist/index.js')).href)
  const configPath = join(server.dataDir, 'client-config.json')
  const env = { IDAAS_CLIENT_SECRET: readFileSync(join(server.dataDir, 'client-secret'), 'utf8').trim() }
  const config = JSON.parse(readFileSync(configPath, 'utf8'))

  // Plain JavaScript on Node 20 has no `await using`: closed in the finally below.
  const pam = await sdk.createPamClient({ configPath, env })
  try {
    await pam.getApiKey(CREDENTIAL) // warm: token fetched and cached
    const tokenResponse = await fetch(config.tokenEndpoint, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: config.clientId,
        client_secret: env.IDAAS_CLIENT_SECRET,
        scope: config.scope,
      }),
    })
    const bearer = /** @type {{ access_token: string }} */ (await tokenResponse.json()).access_token
    const url = `${config.developerApiEndpoint}/v2/${config.idaasInstanceId}/credentials/_/actions/obtain?credentialIdentifier=${encodeURIComponent(CREDENTIAL)}`
    const raw = async () => {
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' },
      })
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`)
      const body = /** @type {{ credentialContent: { apiKeyContent: { apiKey: string } } }} */ (
        await response.json()
      )
      return body.credentialContent.apiKeyContent.apiKey
    }
    const viaSdk = () => pam.getApiKey(CREDENTIAL)

    log(
      `SDK: warm-up ${warmupMs / 1000} s, then raw fetch and getApiKey alternated, ${durationMs / 1000} s each, ${CONCURRENCY} concurrent`,
    )
    await closedLoops(raw, warmupMs / 2)
    await closedLoops(viaSdk, warmupMs / 2)
    /** @type {Awaited<ReturnType<typeof closedLoops>>[]} */
    const rawRuns = []
    /** @type {Awaited<ReturnType<typeof closedLoops>>[]} */
    const sdkRuns = []
    for (let i = 0; i < 2; i++) {
      rawRuns.push(await closedLoops(raw, durationMs / 2))
      sdkRuns.push(await closedLoops(viaSdk, durationMs / 2))
    }
    const meanOf = (/** @type {typeof rawRuns} */ runs, /** @type {'rps' | 'p50Ms' | 'p99Ms'} */ key) =>
      runs.reduce((n, r) => n + r[key], 0) / runs.length
    const rawFigure = {
      rps: meanOf(rawRuns, 'rps'),
      p50Ms: meanOf(rawRuns, 'p50Ms'),
      p99Ms: meanOf(rawRuns, 'p99Ms'),
    }
    const sdkFigure = {
      rps: meanOf(sdkRuns, 'rps'),
      p50Ms: meanOf(sdkRuns, 'p50Ms'),
      p99Ms: meanOf(sdkRuns, 'p99Ms'),
    }
    const errors = [...rawRuns, ...sdkRuns].reduce((n, r) => n + r.errors, 0)
    log(
      `  raw fetch ${Math.round(rawFigure.rps)} req/s (p50 ${rawFigure.p50Ms.toFixed(2)} ms); ` +
        `getApiKey ${Math.round(sdkFigure.rps)} req/s (p50 ${sdkFigure.p50Ms.toFixed(2)} ms); ${errors} errors`,
    )

    // 1,000 concurrent calls on a cold client: one token request, then the operations.
    let tokenRequests = 0
    /** @type {typeof fetch} */
    const counting = (input, init) => {
      if (String(input).includes('/oauth2/token')) tokenRequests++
      return fetch(input, init)
    }
    const cold = await sdk.createPamClient({ configPath, env, http: { fetch: counting } })
    const t0 = performance.now()
    const keys = await Promise.all(Array.from({ length: 1000 }, () => cold.getApiKey(CREDENTIAL)))
    const coldMs = performance.now() - t0
    await cold.close()
    log(`  1,000 concurrent cold getApiKey: ${coldMs.toFixed(0)} ms, ${tokenRequests} token request(s)`)

    return {
      concurrency: CONCURRENCY,
      rawFetch: rawFigure,
      getApiKey: sdkFigure,
      /** getApiKey's rate ÷ raw fetch's: 1 is no overhead; the goal is ≥ 0.9 (at most 10% slower). */
      ratio: sdkFigure.rps / rawFigure.rps,
      errors,
      coldConcurrent: {
        calls: keys.length,
        allAnswered: keys.every((k) => typeof k === 'string' && k.length > 0),
        totalMs: coldMs,
        tokenRequests,
      },
    }
  } finally {
    await pam.close()
  }
}
