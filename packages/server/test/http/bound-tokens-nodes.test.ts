import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ProofKey } from '../../../sdk/src/proof/proof-key.js'
import { pruneBoundTokens } from '../../src/store/housekeeping.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import {
  type BoundTokenServer,
  bindingKeyOf,
  dpopHeaders,
  issueScoped,
  newKey,
  obtainPath,
  obtainUrl,
  openBoundTokenServer,
  PAM,
  send,
} from './bound-tokens-support.js'

describe('the DPoP replay store, across two nodes on one PostgreSQL database', () => {
  let a: BoundTokenServer
  let nodeB: TestServer
  let key: ProofKey
  let token: string
  beforeAll(async () => {
    a = await openBoundTokenServer('postgres')
    nodeB = await openTestServer('postgres', {
      db: a.t.db,
      rootKey: a.t.rootKey,
      now: () => a.clock.now,
      app: { authFailures: { burst: 100_000, refillPerSecond: 1 } },
    })
    key = await newKey()
    token = (
      await issueScoped(a, await a.accessToken(), {
        scope: `${PAM}|credential:obtain`,
        publicKey: bindingKeyOf(key),
      })
    ).body.accessToken
  })
  afterAll(async () => {
    await nodeB?.close()
    await a?.close()
  })

  const proof = () => dpopHeaders(a, key, token, 'GET', obtainPath(a))

  it('refuses on node B a proof used on node A, and the other way round', async () => {
    const first = await proof()
    expect((await send(a.t, 'GET', obtainUrl(a), first)).status).toBe(200)
    const replayed = await send(nodeB, 'GET', obtainUrl(a), first)
    expect(replayed.status).toBe(401)
    expect(replayed.body.Code).toBe('ProofReplayed')

    const second = await proof()
    expect((await send(nodeB, 'GET', obtainUrl(a), second)).status).toBe(200)
    expect((await send(a.t, 'GET', obtainUrl(a), second)).body.Code).toBe('ProofReplayed')
  })

  it('accepts a proof sent to both nodes at once exactly once', async () => {
    for (let round = 0; round < 5; round++) {
      const headers = await proof()
      const answers = await Promise.all(
        [a.t, nodeB, a.t, nodeB].map((node) => send(node, 'GET', obtainUrl(a), headers)),
      )
      expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401, 401])
      expect(answers.filter((r) => r.status === 401).map((r) => r.body.Code)).toEqual([
        'ProofReplayed',
        'ProofReplayed',
        'ProofReplayed',
      ])
    }
  })
})

describe.each(ENGINES)('housekeeping of key-bound tokens on %s', (engine) => {
  let t: TestServer
  let now = 1_800_000_000_000
  beforeAll(async () => {
    t = await openTestServer(engine, { now: () => now })
  })
  afterAll(async () => t?.close())

  it('prunes proof ids past their window and sessions ended over a day ago, and keeps the rest', async () => {
    const db = t.services.store.db
    await db
      .insertInto('used_proof_jtis')
      .values([
        { instance_id: t.instanceId, jti_hash: 'old', expires_at: now - 60_000 },
        { instance_id: t.instanceId, jti_hash: 'live', expires_at: now + 120_000 },
      ])
      .execute()
    const session = (id: string, expires_at: number) => ({
      id,
      instance_id: t.instanceId,
      application_id: 'app_x',
      jkt: 'jkt',
      scope: `${PAM}|credential:obtain`,
      revoked: 0,
      created_at: expires_at - 3_600_000,
      expires_at,
    })
    await db
      .insertInto('token_sessions')
      .values([session('sess_old', now - 2 * 86_400_000), session('sess_recent', now - 3_600_000)])
      .execute()
    // Within the grace period no proof id goes: another node's clock may be behind.
    expect(await pruneBoundTokens(t.services)).toEqual({ proofs: 0, sessions: 1 })
    now += 6 * 60_000
    expect(await pruneBoundTokens(t.services)).toEqual({ proofs: 1, sessions: 0 })
    expect(
      (await db.selectFrom('used_proof_jtis').select('jti_hash').execute()).map((r) => r.jti_hash),
    ).toEqual(['live'])
    expect((await db.selectFrom('token_sessions').select('id').execute()).map((r) => r.id)).toEqual([
      'sess_recent',
    ])
  })
})
