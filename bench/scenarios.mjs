// @ts-check
/**
 * What the benchmark measures. Adding a figure is adding one entry to `SCENARIOS`.
 *
 * A scenario runs in two places: `setup` runs once in the orchestrator (`run.mjs`) against the
 * server, before the warm-up, and returns a JSON-serialisable state; `request` runs in each
 * load-generator process (`load-worker.mjs`), which imports this module and finds the scenario by
 * `id`, so `request` must depend on nothing but its arguments.
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto'

/**
 * @typedef {object} Target what `setup` gets: the server under test
 * @property {string} baseUrl
 * @property {string} [adminToken] strongroom only
 * @property {string} [instanceId] strongroom only: the admin token's default instance
 * @property {string} [clientId] the oidc-provider peer only: its one client
 * @property {string} [clientSecret] the oidc-provider peer only
 */

/**
 * @typedef {object} Scenario
 * @property {string} id stable, used on the command line (`--only`) and between processes
 * @property {string} name as printed in the results
 * @property {'raw' | 'strongroom' | 'oidc-provider'} server which server it runs against
 * @property {number} [expectStatus] the success status (default: any 2xx)
 * @property {(target: Target) => Promise<unknown>} [setup] returns the state handed to `request`
 * @property {(state: any, seq: number) => import('./load.mjs').RequestSpec} request `seq` is unique
 *   within one run across all load-generator processes
 * @property {boolean} [setupEachRun] its state serves one run: each request creates something named
 *   after `seq`, which starts again at 0 in every run, so a second run against the same server
 *   (bench/workers.mjs warms a server before measuring it) needs a fresh `setup` or it meets 409s
 */

/** How many credentials the per-credential scenarios spread their requests over. */
const SPREAD = 50

/** How many instances `OBTAIN_ACROSS_INSTANCES` spreads its requests over. */
const INSTANCES = 4

/** The scope both token endpoints' figures ask for: strongroom's and its peer's. */
export const TOKEN_SCOPE = 'urn:cloud:idaas:pam|credential:obtain'

/**
 * A client_credentials token request with a prebuilt form body: the same request shape for
 * strongroom's `token-client-secret-post` and for its oidc-provider peer.
 * @param {{ tokenPath: string, form: string }} state
 * @returns {import('./load.mjs').RequestSpec}
 */
const tokenFormRequest = (state) => ({
  method: 'POST',
  path: state.tokenPath,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: state.form,
})

/** @type {Scenario} */
export const CEILING = {
  id: 'ceiling',
  name: 'raw node:http hello world',
  server: 'raw',
  expectStatus: 200,
  request: () => ({ method: 'GET', path: '/' }),
}

/** @type {Scenario[]} The strongroom figures, each reported with its ratio to `CEILING`. */
export const SCENARIOS = [
  {
    id: 'credential-rotate',
    name: 'credential write (rotate, durable audit)',
    server: 'strongroom',
    expectStatus: 201,
    setup: (target) => createCredentials(target, 'bench/key-', SPREAD),
    request: (state, seq) =>
      adminPost(
        state,
        `credentials/${encodeURIComponent(state.identifiers[seq % state.identifiers.length])}/versions`,
        {
          value: { apiKey: randomSecret() },
        },
      ),
  },
  {
    id: 'credential-create',
    name: 'credential write (create, durable audit)',
    server: 'strongroom',
    expectStatus: 201,
    setup: async (target) => ({ ...adminState(target), tag: randomBytes(4).toString('hex') }),
    setupEachRun: true,
    request: (state, seq) =>
      adminPost(state, 'credentials', {
        credentialIdentifier: `bench/create-${state.tag}-${seq}`,
        credentialType: 'api_key',
        value: { apiKey: randomSecret() },
      }),
  },
  {
    id: 'credential-reveal',
    name: 'credential reveal (decrypt, durable audit)',
    server: 'strongroom',
    expectStatus: 200,
    setup: (target) => createCredentials(target, 'bench/reveal-', SPREAD),
    request: (state, seq) =>
      adminPost(
        state,
        `credentials/${encodeURIComponent(state.identifiers[seq % state.identifiers.length])}/reveal`,
        {},
      ),
  },
  {
    id: 'token-client-secret-post',
    name: 'client_credentials token (client_secret_post, durable audit)',
    server: 'strongroom',
    expectStatus: 200,
    setup: createTokenClient,
    request: tokenFormRequest,
  },
  {
    id: 'token-private-key-jwt',
    name: 'client_credentials token (private_key_jwt EdDSA, durable audit and jti record)',
    server: 'strongroom',
    expectStatus: 200,
    setup: createKeyClient,
    // A fresh assertion per request (its jti is accepted once), signed here in the load generator.
    request: (state, seq) => ({
      method: 'POST',
      path: state.tokenPath,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${state.formPrefix}${encodeURIComponent(assertion(state, seq))}`,
    }),
  },
  {
    id: 'obtain-credential',
    name: 'ObtainCredential (bearer token, scope, grant, decrypt, durable audit)',
    server: 'strongroom',
    expectStatus: 200,
    setup: createObtainingWorkload,
    request: (state, seq) => ({
      method: 'GET',
      path: `${state.obtainPath}?credentialIdentifier=${encodeURIComponent(state.identifiers[seq % state.identifiers.length])}`,
      headers: { authorization: `Bearer ${state.accessToken}` },
    }),
  },
  {
    id: 'obtain-credential-dpop',
    name: 'ObtainCredential with a key-bound scoped token (a fresh DPoP proof per request, replay store)',
    server: 'strongroom',
    expectStatus: 200,
    setup: createBoundWorkload,
    request: (state, seq) => {
      const identifier = state.identifiers[seq % state.identifiers.length]
      return {
        method: 'GET',
        path: `${state.obtainPath}?credentialIdentifier=${encodeURIComponent(identifier)}`,
        headers: {
          authorization: `DPoP ${state.boundToken}`,
          dpop: dpopProof(state, seq),
        },
      }
    },
  },
  {
    id: 'obtain-password',
    name: 'account password retrieval with a reason (scope, grant, decrypt, durable audit)',
    server: 'strongroom',
    expectStatus: 200,
    setup: createAccountWorkload,
    request: (state, seq) => ({
      method: 'POST',
      path: state.passwordPath,
      headers: { authorization: `Bearer ${state.accessToken}` },
      body: JSON.stringify({
        accountName: state.accounts[seq % state.accounts.length],
        reason: `bench ${seq}`,
      }),
    }),
  },
]

/**
 * The token endpoint's peer (issue 15): oidc-provider (`oidc-provider-peer.mjs`) answering the same
 * request as `token-client-secret-post`, with the same load; the figure `tokenVsOidcProvider` is
 * strongroom's ÷ this one's.
 * @type {Scenario}
 */
export const OIDC_PROVIDER_PEER = {
  id: 'oidc-provider-token-client-secret-post',
  name: 'oidc-provider: client_credentials token (client_secret_post, JWT EdDSA, tokens not stored)',
  server: 'oidc-provider',
  expectStatus: 200,
  setup: async (target) => {
    if (!target.clientId || !target.clientSecret) throw new Error('the oidc-provider peer needs its client')
    const state = {
      tokenPath: '/token',
      form: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: target.clientId,
        client_secret: target.clientSecret,
        scope: TOKEN_SCOPE,
      }).toString(),
    }
    return { ...state, answer: await expectEdDsaJwt(target, state) }
  },
  request: tokenFormRequest,
}

/**
 * Asks once for a token as the load will, and checks the answer is 200 with a JWT signed EdDSA, so
 * two token endpoints are compared on the same work. Returns the JWT's header's `alg` and `typ`.
 * @param {Target} target
 * @param {{ tokenPath: string, form: string }} state
 */
async function expectEdDsaJwt(target, state) {
  const response = await fetch(`${target.baseUrl}${state.tokenPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: state.form,
  })
  const text = await response.text()
  // The body holds a token: only its error code and description are ever quoted.
  const body = /** @type {Record<string, unknown> | null} */ (
    (() => {
      try {
        return JSON.parse(text)
      } catch {
        return null
      }
    })()
  )
  if (response.status !== 200) {
    throw new Error(
      `${state.tokenPath}: HTTP ${response.status}: ${String(body?.error ?? '')} ${String(body?.error_description ?? '')}`,
    )
  }
  const token = typeof body?.access_token === 'string' ? body.access_token : ''
  const parts = token.split('.')
  /** @type {{ alg?: unknown, typ?: unknown }} */
  let header = {}
  try {
    header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8'))
  } catch {
    // reported below
  }
  if (parts.length !== 3 || header.alg !== 'EdDSA') {
    throw new Error(
      `${state.tokenPath}: 200 but not a JWS signed EdDSA (${parts.length} parts, alg ${String(header.alg)})`,
    )
  }
  return { status: response.status, alg: header.alg, typ: String(header.typ) }
}

/**
 * @typedef {object} NodesScenario a figure of bench/nodes.mjs: a scenario of `SCENARIOS` measured on
 *   one node, then on three, of one PostgreSQL database
 * @property {string} id used on the command line (`--only`)
 * @property {string} scenario the `SCENARIOS` entry whose setup and requests it uses
 */

/**
 * Not in `SCENARIOS` (the single-node run has nothing to learn from it): ObtainCredential spread
 * over several instances, so each batch of audit events touches several instances' chain heads.
 * With one instance a node's batch takes one head lock; with several, two nodes' batches take
 * several each, which is what deadlocked PostgreSQL nodes before the heads were locked in order
 * (the 2026-12-07 note: about 7 audited units a second with four busy instances on two nodes).
 * @type {Scenario}
 */
export const OBTAIN_ACROSS_INSTANCES = {
  id: 'obtain-credential-instances',
  name: `ObtainCredential spread over ${INSTANCES} instances (one workload and its credentials in each)`,
  server: 'strongroom',
  expectStatus: 200,
  setup: async (target) => {
    /** @type {{ identifiers: string[], accessToken: string, obtainPath: string }[]} */
    const workloads = []
    for (let i = 0; i < INSTANCES; i++) {
      const response = await fetch(`${target.baseUrl}/admin/v1/instances`, {
        method: 'POST',
        headers: { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `bench-${i}-${randomBytes(4).toString('hex')}` }),
      })
      const text = await response.text()
      if (response.status !== 201)
        throw new Error(`POST /admin/v1/instances: HTTP ${response.status}: ${text.slice(0, 300)}`)
      workloads.push(await createObtainingWorkload({ ...target, instanceId: JSON.parse(text).instanceId }))
    }
    return { workloads }
  },
  request: (state, seq) => {
    const workload = state.workloads[seq % state.workloads.length]
    const identifier =
      workload.identifiers[Math.floor(seq / state.workloads.length) % workload.identifiers.length]
    return {
      method: 'GET',
      path: `${workload.obtainPath}?credentialIdentifier=${encodeURIComponent(identifier)}`,
      headers: { authorization: `Bearer ${workload.accessToken}` },
    }
  },
}

/** @type {NodesScenario[]} */
export const NODES_SCENARIOS = [
  { id: 'nodes-obtain-credential', scenario: 'obtain-credential' },
  { id: 'nodes-obtain-credential-instances', scenario: 'obtain-credential-instances' },
  { id: 'nodes-token-client-secret-post', scenario: 'token-client-secret-post' },
]

/**
 * @typedef {object} WorkersScenario a figure of bench/workers.mjs: a scenario of `SCENARIOS` measured
 *   on a server with one worker, then on one with two (`serve --workers 2`), each on its own SQLite
 * @property {string} id used on the command line (`--only`)
 * @property {string} scenario the `SCENARIOS` entry whose setup and requests it uses
 */

/**
 * ObtainCredential, a token, a credential write: each writes a durable audit event, so with two
 * workers every one passes through the SQLite write lock their primary grants (one batch at a time).
 * @type {WorkersScenario[]}
 */
export const WORKERS_SCENARIOS = [
  { id: 'workers-obtain-credential', scenario: 'obtain-credential' },
  { id: 'workers-token-client-secret-post', scenario: 'token-client-secret-post' },
  { id: 'workers-credential-create', scenario: 'credential-create' },
  // Where a request costs much CPU outside its write (an Ed25519 verify of a proof or an assertion):
  // what a second worker can take off the first.
  { id: 'workers-obtain-credential-dpop', scenario: 'obtain-credential-dpop' },
  { id: 'workers-token-private-key-jwt', scenario: 'token-private-key-jwt' },
]

/**
 * The obtaining workload of `obtain-credential`, whose token is traded for a scoped token bound to
 * an Ed25519 key: each request then carries a new proof signed by that key.
 * @param {Target} target
 */
async function createBoundWorkload(target) {
  const workload = await createObtainingWorkload(target)
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const instance = encodeURIComponent(target.instanceId ?? '')
  const response = await fetch(`${target.baseUrl}/v2/${instance}/scopedTokens/_/actions/issue`, {
    method: 'POST',
    headers: { authorization: `Bearer ${workload.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      scope: 'urn:cloud:idaas:pam|credential:obtain',
      publicKey: { jwk: publicKey.export({ format: 'jwk' }) },
      expiration: 3600,
    }),
  })
  const issued = await response.json()
  if (response.status !== 200)
    throw new Error(`scoped token: HTTP ${response.status}: ${JSON.stringify(issued).slice(0, 300)}`)
  return {
    ...workload,
    boundToken: issued.accessToken,
    ath: createHash('sha256').update(issued.accessToken).digest('base64url'),
    htu: `${target.baseUrl}${workload.obtainPath}`,
    publicJwk: publicKey.export({ format: 'jwk' }),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  }
}

/**
 * An RFC 9449 proof for a GET of `state.htu`, signed with Ed25519 through node:crypto.
 * @param {{ privateKeyPem: string, publicJwk: object, htu: string, ath: string }} state
 * @param {number} seq
 */
function dpopProof(state, seq) {
  let key = privateKeys.get(state.privateKeyPem)
  if (!key) {
    key = createPrivateKey(state.privateKeyPem)
    privateKeys.set(state.privateKeyPem, key)
  }
  const b64 = (/** @type {unknown} */ v) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const input = `${b64({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: state.publicJwk })}.${b64({
    jti: `${seq}-${randomBytes(8).toString('hex')}`,
    htm: 'GET',
    htu: state.htu,
    iat: Math.floor(Date.now() / 1000),
    ath: state.ath,
  })}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}

/**
 * An application allowed account:obtain with an obtain grant on `bench-db/`, the accounts it reads
 * (each requiring a reason), and an access token fetched once.
 * @param {Target} target
 */
async function createAccountWorkload(target) {
  const state = adminState(target)
  /** @type {string[]} */
  const accounts = []
  for (let i = 0; i < SPREAD; i++) {
    const accountName = `bench-db-${i}/admin`
    await adminCall(target, state, 'accounts', {
      accountName,
      password: randomSecret(),
      requiresReason: true,
    })
    accounts.push(accountName)
  }
  const accessToken = await grantedWorkloadToken(target, 'bench-accounts', 'account:obtain', {
    resourceType: 'account',
    resource: 'bench-db-',
  })
  const instance = encodeURIComponent(target.instanceId ?? '')
  return {
    accounts,
    accessToken,
    passwordPath: `/v2/${instance}/accounts/_/actions/obtainPassword`,
  }
}

/**
 * A workload as issue 4 measures it: an application allowed credential:obtain with an obtain grant
 * on `bench/`, the credentials it reads, and an access token (one hour) fetched once.
 * @param {Target} target
 */
async function createObtainingWorkload(target) {
  const { identifiers } = await createCredentials(target, 'bench/obtain-', SPREAD)
  const accessToken = await grantedWorkloadToken(target, 'bench-obtain', 'credential:obtain', {
    resourceType: 'credential',
    resource: 'bench/',
  })
  const instance = encodeURIComponent(target.instanceId ?? '')
  return {
    identifiers,
    accessToken,
    obtainPath: `/v2/${instance}/credentials/_/actions/obtain`,
  }
}

/**
 * An application `name` allowed the one PAM `scope`, with an obtain grant on every resource of
 * `grant.resourceType` named with the prefix `grant.resource`, and an access token (one hour) for it.
 * @param {Target} target
 * @param {string} name
 * @param {string} scope
 * @param {{ resourceType: string, resource: string }} grant
 * @returns {Promise<string>}
 */
async function grantedWorkloadToken(target, name, scope, grant) {
  const state = adminState(target)
  const app = await adminCall(target, state, 'applications', {
    name,
    allowedScopes: [`urn:cloud:idaas:pam|${scope}`],
  })
  const secret = await adminCall(target, state, `applications/${app.applicationId}/client-secrets`, {})
  await adminCall(target, state, 'grants', {
    applicationId: app.applicationId,
    resourceMatch: 'prefix',
    actions: ['obtain'],
    ...grant,
  })
  const instance = encodeURIComponent(target.instanceId ?? '')
  const response = await fetch(
    `${target.baseUrl}/v2/${instance}/authorizationServer/iauths_system/oauth2/token`,
    {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: secret.clientSecret,
      }),
    },
  )
  const token = await response.json()
  if (response.status !== 200)
    throw new Error(`token: HTTP ${response.status}: ${JSON.stringify(token).slice(0, 300)}`)
  return token.access_token
}

/** @type {Map<string, import('node:crypto').KeyObject>} */
const privateKeys = new Map()

/**
 * An RFC 7523 client assertion signed with Ed25519 through node:crypto.
 * @param {{ clientId: string, audience: string, privateKeyPem: string, kid: string }} state
 * @param {number} seq
 */
function assertion(state, seq) {
  let key = privateKeys.get(state.privateKeyPem)
  if (!key) {
    key = createPrivateKey(state.privateKeyPem)
    privateKeys.set(state.privateKeyPem, key)
  }
  const now = Math.floor(Date.now() / 1000)
  const b64 = (/** @type {unknown} */ v) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const input = `${b64({ alg: 'EdDSA', kid: state.kid })}.${b64({
    iss: state.clientId,
    sub: state.clientId,
    aud: state.audience,
    jti: `${seq}-${randomBytes(8).toString('hex')}`,
    iat: now,
    exp: now + 120,
  })}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}

/**
 * An application allowed the PAM scopes with an Ed25519 key registered, and what each request
 * needs to sign its assertion.
 * @param {Target} target
 */
async function createKeyClient(target) {
  const state = adminState(target)
  const app = await adminCall(target, state, 'applications', {
    name: 'bench-pkjwt',
    allowedScopes: ['urn:cloud:idaas:pam|.all'],
  })
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  await adminCall(target, state, `applications/${app.applicationId}/keys`, {
    jwk: { ...publicKey.export({ format: 'jwk' }), kid: 'bench-1' },
  })
  const tokenPath = `/v2/${encodeURIComponent(target.instanceId ?? '')}/authorizationServer/iauths_system/oauth2/token`
  return {
    tokenPath,
    clientId: app.clientId,
    kid: 'bench-1',
    audience: `${target.baseUrl}${tokenPath}`,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    formPrefix: `${new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: app.clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      scope: 'urn:cloud:idaas:pam|credential:obtain',
    }).toString()}&client_assertion=`,
  }
}

/**
 * POSTs JSON to the admin API below the instance, expecting 201.
 * @param {Target} target
 * @param {{ prefix: string, headers: Record<string, string> }} state
 * @param {string} path
 * @param {unknown} body
 */
async function adminCall(target, state, path, body) {
  const response = await fetch(`${target.baseUrl}${state.prefix}${path}`, {
    method: 'POST',
    headers: { ...state.headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  if (response.status !== 201) throw new Error(`POST ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`)
  return JSON.parse(text)
}

/**
 * An application allowed the PAM scopes, with a client secret, and the form body that asks for a
 * token with it; checked once to answer an EdDSA JWT.
 * @param {Target} target
 */
async function createTokenClient(target) {
  const state = adminState(target)
  const app = await adminCall(target, state, 'applications', {
    name: 'bench',
    allowedScopes: ['urn:cloud:idaas:pam|.all'],
  })
  const secret = await adminCall(target, state, `applications/${app.applicationId}/client-secrets`, {})
  const request = {
    tokenPath: `/v2/${encodeURIComponent(target.instanceId ?? '')}/authorizationServer/iauths_system/oauth2/token`,
    form: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: app.clientId,
      client_secret: secret.clientSecret,
      scope: TOKEN_SCOPE,
    }).toString(),
  }
  return { ...request, answer: await expectEdDsaJwt(target, request) }
}

/** 32 random characters (base64url of 24 bytes). */
function randomSecret() {
  return randomBytes(24).toString('base64url')
}

/**
 * @param {Target} target
 * @returns {{ prefix: string, headers: Record<string, string> }}
 */
function adminState(target) {
  if (!target.adminToken || !target.instanceId) throw new Error('a strongroom scenario needs an admin token')
  return {
    prefix: `/admin/v1/instances/${encodeURIComponent(target.instanceId)}/`,
    headers: { authorization: `Bearer ${target.adminToken}` },
  }
}

/**
 * @param {{ prefix: string, headers: Record<string, string> }} state
 * @param {string} path below the instance
 * @param {unknown} body
 * @returns {import('./load.mjs').RequestSpec}
 */
function adminPost(state, path, body) {
  return { method: 'POST', path: state.prefix + path, headers: state.headers, body: JSON.stringify(body) }
}

/**
 * Creates `count` api_key credentials named `<prefix>0…`; a fresh data dir per run, so they are new.
 * @param {Target} target
 * @param {string} prefix
 * @param {number} count
 */
async function createCredentials(target, prefix, count) {
  const state = adminState(target)
  /** @type {string[]} */
  const identifiers = []
  for (let i = 0; i < count; i++) {
    const credentialIdentifier = `${prefix}${i}`
    const response = await fetch(`${target.baseUrl}${state.prefix}credentials`, {
      method: 'POST',
      headers: { ...state.headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        credentialIdentifier,
        credentialType: 'api_key',
        value: { apiKey: randomSecret() },
      }),
    })
    const text = await response.text()
    if (response.status !== 201) {
      throw new Error(`creating ${credentialIdentifier}: HTTP ${response.status}: ${text.slice(0, 300)}`)
    }
    identifiers.push(credentialIdentifier)
  }
  return { ...state, identifiers }
}

/**
 * @param {string} id
 * @returns {Scenario}
 */
export function scenarioById(id) {
  const found = [CEILING, OIDC_PROVIDER_PEER, OBTAIN_ACROSS_INSTANCES, ...SCENARIOS].find((s) => s.id === id)
  if (!found) throw new Error(`no scenario ${id}`)
  return found
}
