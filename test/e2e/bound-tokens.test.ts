// Key-bound scoped and session tokens over real HTTP: the `strongroom serve` process (every path
// and error code, fast-check), a server started in-process with a fake clock (sessions that end,
// stale proofs), and two processes on one PostgreSQL database sharing the replay store. Proofs and
// the resource-server check are the SDK's.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { createRemoteJWKSet } from 'jose'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createProof } from '../../packages/sdk/src/proof/create-proof.js'
import { MemoryReplayCache } from '../../packages/sdk/src/proof/memory-replay-cache.js'
import { ProofError } from '../../packages/sdk/src/proof/proof-error.js'
import { createProofKey, type ProofAlgorithm, type ProofKey } from '../../packages/sdk/src/proof/proof-key.js'
import { verifyBoundToken } from '../../packages/sdk/src/proof/verify-bound-token.js'
import { loadConfig } from '../../packages/server/src/config/config.js'
import { type RunningServer, startServer as startInProcess } from '../../packages/server/src/server.js'
import { createTestDatabase } from '../support/postgres.js'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { ok, okJson } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'
const API = 'https://api.example.com'
const SECRET_VALUE = 'canary-e2e-bound-api-key'
const PROOF_CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA RS256 PS256"'
const TOKEN_CHALLENGE = 'DPoP error="invalid_token", algs="ES256 EdDSA RS256 PS256"'

interface Answer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the assertions
  body: any
  raw: string
  headers: Headers
}

async function http(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  const raw = await res.text()
  return { status: res.status, body: raw === '' ? null : JSON.parse(raw), raw, headers: res.headers }
}

/**
 * A workload of a running server: an application allowed the PAM scopes and `API|read`, its
 * secret, a credential it may obtain, and the URLs. `base` is where requests go, `publicBase`
 * what the server believes it is reached at (the proofs' `htu`): the same unless behind a proxy.
 */
interface Workload {
  base: string
  publicBase: string
  instanceId: string
  clientId: string
  secret: string
  token(scope?: string): Promise<string>
}

async function createWorkload(
  admin: { url: string; token: string },
  publicUrl = admin.url,
  via: ServerProcess | undefined = undefined,
): Promise<Workload> {
  let app: { applicationId: string; clientId: string; instanceId: string }
  let secret: string
  if (via) {
    app = await okJson(via, [
      'app',
      'create',
      '--name',
      'bound',
      '--scope',
      `${PAM}|.all`,
      '--scope',
      `${API}|read`,
    ])
    secret = (await okJson(via, ['app', 'secret', 'create', app.applicationId])).clientSecret
    await ok(
      via,
      ['credential', 'create', '--identifier', 'bound/key', '--type', 'api_key'],
      `${SECRET_VALUE}\n`,
    )
    await ok(via, [
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'credential',
      '--resource',
      'bound/key',
      '--actions',
      'obtain',
    ])
  } else {
    // The admin API over HTTP, for the in-process server (no CLI process to point at it).
    const auth = { authorization: `Bearer ${admin.token}` }
    const instances = await http('GET', `${admin.url}/admin/v1/instances`, auth)
    const instanceId = instances.body.entities[0].instanceId as string
    const i = `${admin.url}/admin/v1/instances/${instanceId}`
    const created = await http('POST', `${i}/applications`, auth, {
      name: 'bound',
      allowedScopes: [`${PAM}|.all`, `${API}|read`],
    })
    app = { ...created.body, instanceId }
    secret = (await http('POST', `${i}/applications/${app.applicationId}/client-secrets`, auth, {})).body
      .clientSecret
    await http('POST', `${i}/credentials`, auth, {
      credentialIdentifier: 'bound/key',
      credentialType: 'api_key',
      value: { apiKey: SECRET_VALUE },
    })
    await http('POST', `${i}/grants`, auth, {
      applicationId: app.applicationId,
      resourceType: 'credential',
      resource: 'bound/key',
      actions: ['obtain'],
    })
  }
  const base = `${admin.url}/v2/${app.instanceId}`
  return {
    base,
    publicBase: `${publicUrl}/v2/${app.instanceId}`,
    instanceId: app.instanceId,
    clientId: app.clientId,
    secret,
    token: async (scope = `${PAM}|.all`) => {
      const res = await fetch(`${base}/authorizationServer/iauths_system/oauth2/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: app.clientId,
          client_secret: secret,
          scope,
        }),
      })
      return ((await res.json()) as { access_token: string }).access_token
    },
  }
}

const OBTAIN = '/credentials/_/actions/obtain'
const obtainQuery = '?credentialIdentifier=bound%2Fkey'

/** `Authorization: DPoP` and a fresh proof for `method` on `path` (below `/v2/{i}`), as the server is addressed. */
async function dpop(
  w: Workload,
  key: ProofKey,
  token: string,
  method: string,
  path: string,
  o: { url?: string; htm?: string; now?: number; accessToken?: string } = {},
) {
  const proof = await createProof(key, {
    method: o.htm ?? method,
    url: o.url ?? `${w.publicBase}${path}`,
    accessToken: o.accessToken ?? token,
    ...(o.now === undefined ? {} : { now: o.now }),
  })
  return { authorization: `DPoP ${token}`, dpop: proof }
}

const bindingKey = (key: ProofKey) => ({ jwk: { ...key.publicJwk } })

async function issue(
  w: Workload,
  kind: 'scopedTokens' | 'sessionTokens',
  bearer: string,
  body: Record<string, unknown>,
): Promise<Answer> {
  return http('POST', `${w.base}/${kind}/_/actions/issue`, { authorization: `Bearer ${bearer}` }, body)
}

async function sessionCall(
  w: Workload,
  action: 'refresh' | 'revoke',
  token: string,
  key: ProofKey,
  now?: number,
): Promise<Answer> {
  const path = `/sessionTokens/_/actions/${action}`
  return http(
    'POST',
    `${w.base}${path}`,
    await dpop(w, key, token, 'POST', path, { ...(now ? { now } : {}) }),
    {},
  )
}

function expectRefusal(res: Answer, code: string, challenge: string, secrets: string[] = []) {
  expect(res.status, res.raw).toBe(401)
  expect(res.body).toMatchObject({
    Code: code,
    RequestId: expect.any(String),
    request_id: expect.any(String),
  })
  expect(res.headers.get('www-authenticate')).toBe(challenge)
  for (const secret of secrets) for (const part of secret.split('.')) expect(res.raw).not.toContain(part)
}

describe('key-bound tokens against `strongroom serve`', () => {
  let server: ServerProcess
  let w: Workload
  let bearer: string
  beforeAll(async () => {
    server = await startServer()
    w = await createWorkload({ url: server.url, token: await server.adminToken() }, server.url, server)
    bearer = await w.token()
  })
  afterAll(async () => server?.stop())

  it.each<ProofAlgorithm>(['ES256', 'EdDSA', 'RS256', 'PS256'])(
    'issues a scoped token bound to a %s key (JWK and PEM) that only that key can use',
    async (alg) => {
      const key = await createProofKey(alg)
      const { createPublicKey } = await import('node:crypto')
      const pem = createPublicKey({ key: { ...key.publicJwk }, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString()
      for (const publicKey of [bindingKey(key), { pem }]) {
        const res = await issue(w, 'scopedTokens', bearer, { scope: `${PAM}|credential:obtain`, publicKey })
        expect(res.status, res.raw).toBe(200)
        expect(res.body).toMatchObject({
          tokenType: 'DPoP',
          jkt: key.thumbprint,
          scope: `${PAM}|credential:obtain`,
        })
        const token = res.body.accessToken as string
        const used = await http(
          'GET',
          `${w.base}${OBTAIN}${obtainQuery}`,
          await dpop(w, key, token, 'GET', OBTAIN),
        )
        expect(used.status, used.raw).toBe(200)
        expect(used.body.credentialContent.apiKeyContent.apiKey).toBe(SECRET_VALUE)
      }
    },
  )

  it('answers 400 naming the field for keys it cannot bind, and 403 for a scope nobody holds', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' })
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' })
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })
    for (const publicKey of [
      { jwk: weak },
      { jwk: p384 },
      { jwk: ec },
      { jwk: { kty: 'oct', k: 'c2VjcmV0' } },
    ]) {
      const res = await issue(w, 'scopedTokens', bearer, { scope: `${PAM}|credential:obtain`, publicKey })
      expect(res.status, res.raw).toBe(400)
      expect(res.body.Code).toBe('InvalidParameter')
      expect(res.body.field).toMatch(/^publicKey/)
      expect(res.raw).not.toContain(String(ec.d))
    }
    const narrow = await w.token(`${PAM}|credential:obtain`)
    const key = await createProofKey()
    const partial = await issue(w, 'scopedTokens', narrow, {
      scope: `${PAM}|.all`,
      publicKey: bindingKey(key),
    })
    expect(partial.body.scope).toBe(`${PAM}|credential:obtain`)
    for (const kind of ['scopedTokens', 'sessionTokens'] as const) {
      const none = await issue(w, kind, narrow, {
        scope: `${PAM}|authentication_token:read`,
        publicKey: bindingKey(key),
        ...(kind === 'sessionTokens' ? { sessionExpirationInMinutes: 5 } : {}),
      })
      expect(none.status).toBe(403)
      expect(none.body).toMatchObject({ Code: 'InsufficientScope', error: 'insufficient_scope' })
    }
  })

  it('answers every refusal of a proof with its own code, a DPoP challenge, and never the token', async () => {
    const key = await createProofKey()
    const other = await createProofKey()
    const res = await issue(w, 'scopedTokens', bearer, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKey(key),
    })
    const token = res.body.accessToken as string
    const url = `${w.base}${OBTAIN}${obtainQuery}`
    const get = (headers: Record<string, string>) => http('GET', url, headers)

    const fresh = await dpop(w, key, token, 'GET', OBTAIN)
    expect((await get(fresh)).status).toBe(200)
    expectRefusal(await get(fresh), 'ProofReplayed', PROOF_CHALLENGE, [token, fresh.dpop])
    expectRefusal(
      await get(await dpop(w, other, token, 'GET', OBTAIN)),
      'ProofKeyMismatch',
      TOKEN_CHALLENGE,
      [token],
    )
    expectRefusal(await get({ authorization: `DPoP ${token}` }), 'ProofMissing', PROOF_CHALLENGE, [token])
    expectRefusal(
      await get({ authorization: `DPoP ${token}`, dpop: 'a.b.c' }),
      'ProofInvalid',
      PROOF_CHALLENGE,
    )
    const elsewhere = await dpop(w, key, token, 'GET', OBTAIN, {
      url: `https://elsewhere.example/v2${OBTAIN}`,
    })
    expectRefusal(await get(elsewhere), 'ProofRequestMismatch', PROOF_CHALLENGE, [token])
    const posted = await dpop(w, key, token, 'GET', OBTAIN, { htm: 'POST' })
    expectRefusal(await get(posted), 'ProofRequestMismatch', PROOF_CHALLENGE, [token])
    const stale = await dpop(w, key, token, 'GET', OBTAIN, { now: Date.now() - 120_000 })
    expectRefusal(await get(stale), 'ProofExpired', PROOF_CHALLENGE, [token])
    const foreign = await dpop(w, key, token, 'GET', OBTAIN, { accessToken: bearer })
    expectRefusal(await get(foreign), 'ProofTokenMismatch', PROOF_CHALLENGE, [token, bearer])
    const asBearer = await get({
      authorization: `Bearer ${token}`,
      dpop: (await dpop(w, key, token, 'GET', OBTAIN)).dpop,
    })
    expectRefusal(asBearer, 'InvalidToken', TOKEN_CHALLENGE, [token])
    const unbound = await get(await dpop(w, key, bearer, 'GET', OBTAIN))
    expectRefusal(unbound, 'InvalidToken', TOKEN_CHALLENGE, [bearer])
    expect(server.logs()).not.toContain(token.split('.')[2])
  })

  it('runs a session: issue, use, refresh, refuse another key, revoke', async () => {
    const key = await createProofKey('EdDSA')
    const started = await issue(w, 'sessionTokens', bearer, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKey(key),
      sessionExpirationInMinutes: 15,
    })
    expect(started.status, started.raw).toBe(200)
    expect(started.body.sessionId).toMatch(/^sess_/)
    expect(started.body.expiresIn).toBeLessThanOrEqual(300)
    const first = started.body.accessToken as string
    const url = `${w.base}${OBTAIN}${obtainQuery}`
    expect((await http('GET', url, await dpop(w, key, first, 'GET', OBTAIN))).status).toBe(200)

    const refreshed = await sessionCall(w, 'refresh', first, key)
    expect(refreshed.status, refreshed.raw).toBe(200)
    expect(refreshed.body).toMatchObject({ sessionId: started.body.sessionId, jkt: key.thumbprint })
    expect(refreshed.body.tokenId).not.toBe(started.body.tokenId)
    const second = refreshed.body.accessToken as string
    expect((await http('GET', url, await dpop(w, key, second, 'GET', OBTAIN))).status).toBe(200)
    expect((await http('GET', url, await dpop(w, key, first, 'GET', OBTAIN))).status).toBe(200)

    expectRefusal(
      await sessionCall(w, 'refresh', second, await createProofKey('EdDSA')),
      'ProofKeyMismatch',
      TOKEN_CHALLENGE,
    )
    const bare = await http(
      'POST',
      `${w.base}/sessionTokens/_/actions/refresh`,
      { authorization: `Bearer ${second}` },
      {},
    )
    expectRefusal(bare, 'InvalidToken', TOKEN_CHALLENGE, [second])

    expect((await sessionCall(w, 'revoke', second, key)).status).toBe(200)
    expectRefusal(await sessionCall(w, 'refresh', second, key), 'SessionRevoked', TOKEN_CHALLENGE)
    expectRefusal(
      await http('GET', url, await dpop(w, key, second, 'GET', OBTAIN)),
      'SessionRevoked',
      TOKEN_CHALLENGE,
    )
  })

  it('is verified by a third-party resource server with the SDK and the JWKS fetched over HTTP', async () => {
    const key = await createProofKey()
    const res = await issue(w, 'scopedTokens', bearer, { scope: `${API}|read`, publicKey: bindingKey(key) })
    expect(res.status, res.raw).toBe(200)
    const accessToken = res.body.accessToken as string
    const issuer = `${w.publicBase}/authorizationServer/iauths_system`
    const metadata = await http('GET', `${issuer}/.well-known/oauth-authorization-server`)
    const replay = new MemoryReplayCache()
    const options = {
      issuer,
      audience: API,
      issuerKeys: createRemoteJWKSet(new URL(metadata.body.jwks_uri)),
      firstUseOfJti: replay.firstUse,
    }
    const url = `${API}/v1/reports`
    const proof = await createProof(key, { method: 'GET', url, accessToken })
    const verified = await verifyBoundToken({ accessToken, proof, method: 'GET', url }, options)
    expect(verified.jkt).toBe(key.thumbprint)
    const refusal = (p: string) =>
      verifyBoundToken({ accessToken, proof: p, method: 'GET', url }, options).then(
        () => 'accepted',
        (e: unknown) => (e instanceof ProofError ? e.reason : String(e)),
      )
    expect(await refusal(proof)).toBe('ProofReplayed')
    const foreign = await createProof(await createProofKey(), { method: 'GET', url, accessToken })
    expect(await refusal(foreign)).toBe('ProofKeyMismatch')
  })

  it('never answers 5xx on the new endpoints to random bodies and headers (fast-check over HTTP)', async () => {
    const key = await createProofKey()
    const scoped = (
      await issue(w, 'scopedTokens', bearer, { scope: `${PAM}|.all`, publicKey: bindingKey(key) })
    ).body.accessToken as string
    const session = (
      await issue(w, 'sessionTokens', bearer, {
        scope: `${PAM}|.all`,
        publicKey: bindingKey(key),
        sessionExpirationInMinutes: 30,
      })
    ).body.accessToken as string
    const paths = [
      '/scopedTokens/_/actions/issue',
      '/sessionTokens/_/actions/issue',
      '/sessionTokens/_/actions/refresh',
      '/sessionTokens/_/actions/revoke',
    ]
    const printable = fc.stringMatching(/^[\x21-\x7e]{0,80}$/)
    const auth = fc.oneof(
      fc.constant(undefined),
      printable,
      fc.constantFrom(
        `Bearer ${bearer}`,
        `DPoP ${scoped}`,
        `DPoP ${session}`,
        `Bearer ${scoped}`,
        `DPoP ${bearer}`,
      ),
      printable.map((s) => `DPoP ${s}`),
    )
    const json = fc.jsonValue({ maxDepth: 3 })
    const body = fc.oneof(
      json,
      fc.record(
        {
          scope: fc.oneof(fc.constantFrom(`${PAM}|.all`, `${API}|read`, `${PAM}|x`), printable, json),
          publicKey: fc.oneof(
            fc.constant(bindingKey(key)),
            fc.record({ jwk: fc.dictionary(printable, json) }),
            json,
          ),
          expiration: fc.oneof(fc.integer({ min: 0, max: 4000 }), json),
          sessionExpirationInMinutes: fc.oneof(fc.integer({ min: 0, max: 70 }), json),
        },
        { requiredKeys: [] },
      ),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        auth,
        fc.boolean(),
        printable,
        body,
        async (path, a, valid, junk, b) => {
          const headers: Record<string, string> = {}
          if (a !== undefined) headers.authorization = a
          const token = a?.split(' ')[1]
          if (valid && token) headers.dpop = (await dpop(w, key, token, 'POST', path)).dpop
          else if (junk !== '') headers.dpop = junk
          const res = await http('POST', `${w.base}${path}`, headers, JSON.stringify(b))
          if (res.status >= 500) throw new Error(`${path} answered ${res.status}: ${res.raw}`)
          expect(typeof res.body.Code === 'string' || res.status < 400).toBe(true)
        },
      ),
      { numRuns: 120 },
    )
  })
})

describe('sessions over real HTTP with a fake clock (server started in-process)', () => {
  let running: RunningServer
  let dataDir: string
  let w: Workload
  const clock = { now: Date.now() }
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'strongroom-e2e-clock-'))
    const config = loadConfig({ dataDir, listen: '127.0.0.1:0', logLevel: 'silent' }, {})
    running = await startInProcess(config, { now: () => clock.now, print: () => {} })
    const adminToken = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()
    // `htu` matches because the server's public URL is the address it listens on, as here.
    expect(running.services.publicUrl).toBe(running.url)
    w = await createWorkload({ url: running.url, token: adminToken })
  })
  afterAll(async () => {
    await running?.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('refuses an ended session for refresh and for use, and a proof off the clock', async () => {
    const key = await createProofKey()
    const started = await issue(w, 'sessionTokens', await w.token(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKey(key),
      sessionExpirationInMinutes: 5,
    })
    expect(started.status, started.raw).toBe(200)
    const end = started.body.sessionExpirationTime as number
    const url = `${w.base}${OBTAIN}${obtainQuery}`
    clock.now = end - 20_000
    const last = await sessionCall(w, 'refresh', started.body.accessToken, key, clock.now)
    expect(last.status, last.raw).toBe(200)
    expect(last.body.expirationTime).toBe(Math.floor(end / 1000) * 1000)
    const token = last.body.accessToken as string
    expect(
      (await http('GET', url, await dpop(w, key, token, 'GET', OBTAIN, { now: clock.now }))).status,
    ).toBe(200)
    // The server's clock is what a proof's iat is held against.
    const stale = await dpop(w, key, token, 'GET', OBTAIN, { now: clock.now - 61_000 })
    expectRefusal(await http('GET', url, stale), 'ProofExpired', PROOF_CHALLENGE)

    clock.now = end + 1000
    expectRefusal(await sessionCall(w, 'refresh', token, key, clock.now), 'SessionExpired', TOKEN_CHALLENGE)
    const used = await http('GET', url, await dpop(w, key, token, 'GET', OBTAIN, { now: clock.now }))
    expectRefusal(used, 'SessionExpired', TOKEN_CHALLENGE)
    clock.now = end + 60_000
    const late = await http('GET', url, await dpop(w, key, token, 'GET', OBTAIN, { now: clock.now }))
    expectRefusal(late, 'InvalidToken', TOKEN_CHALLENGE)
  })

  it('answers SessionNotFound for a token whose session row is gone', async () => {
    const key = await createProofKey()
    const started = await issue(w, 'sessionTokens', await w.token(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKey(key),
      sessionExpirationInMinutes: 5,
    })
    await running.services.store.db
      .deleteFrom('token_sessions')
      .where('id', '=', started.body.sessionId)
      .execute()
    expectRefusal(
      await sessionCall(w, 'refresh', started.body.accessToken, key, clock.now),
      'SessionNotFound',
      TOKEN_CHALLENGE,
    )
  })
})

describe('two `strongroom serve` processes on one PostgreSQL database', () => {
  const nodes: ServerProcess[] = []
  afterAll(async () => {
    for (const node of nodes) await node.stop()
  })

  it('refuses on one node a proof already used on the other', async () => {
    const env = {
      STRONGROOM_DB: await createTestDatabase(inject('postgresUrl')),
      STRONGROOM_ROOT_KEY: randomBytes(32).toString('base64'),
      // Both behind one public name, as behind a load balancer: the proofs name it, not a node.
      STRONGROOM_PUBLIC_URL: 'https://pam.internal.example',
    }
    const a = await startServer({ env })
    nodes.push(a)
    const b = await startServer({ env })
    nodes.push(b)
    const w = await createWorkload({ url: a.url, token: await a.adminToken() }, env.STRONGROOM_PUBLIC_URL, a)
    const key = await createProofKey()
    const res = await issue(w, 'scopedTokens', await w.token(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKey(key),
    })
    expect(res.status, res.raw).toBe(200)
    const token = res.body.accessToken as string
    const onA = `${w.base}${OBTAIN}${obtainQuery}`
    const onB = onA.replace(a.url, b.url)
    const headers = await dpop(w, key, token, 'GET', OBTAIN)
    expect((await http('GET', onA, headers)).status).toBe(200)
    expectRefusal(await http('GET', onB, headers), 'ProofReplayed', PROOF_CHALLENGE)
    const again = await dpop(w, key, token, 'GET', OBTAIN)
    expect((await http('GET', onB, again)).status).toBe(200)
    expectRefusal(await http('GET', onA, again), 'ProofReplayed', PROOF_CHALLENGE)
  })
})
