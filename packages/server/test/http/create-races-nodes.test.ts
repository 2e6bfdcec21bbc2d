import { generateKeyPairSync } from 'node:crypto'
// The same create or rotation sent to two PostgreSQL nodes at once: a service checks, then
// inserts, and the other node's insert can land between the two. The loser must get the 409 the
// check would have given (or a conflict to retry), never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cluster, openCluster, send } from './nodes-support.js'

const ROUNDS = 6
const RACE_KEY = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }
const ROUND_KEYS = Array.from({ length: ROUNDS }, () =>
  generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }),
)

describe('the same write on two nodes at once (PostgreSQL)', () => {
  let c: Cluster
  beforeAll(async () => {
    c = await openCluster(['a', 'b'])
  })
  afterAll(async () => c?.close())

  /**
   * Sends `body(round)` to `url(round)` on both nodes at once, ROUNDS times; the statuses, and the
   * field each 409 named.
   */
  async function race(url: (round: number) => string, body: (round: number, node: number) => unknown) {
    const statuses: number[] = []
    const conflictFields: unknown[] = []
    const bodies: unknown[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await Promise.all(
        c.nodes.map((node, n) => send(node, 'POST', url(round), { body: body(round, n), headers: c.auth })),
      )
      statuses.push(...answers.map((a) => a.status))
      conflictFields.push(...answers.filter((a) => a.status === 409).map((a) => a.body.field))
      bodies.push(...answers.filter((a) => a.status >= 500).map((a) => a.body))
    }
    expect(bodies, 'no 5xx').toEqual([])
    return Object.assign(statuses, { conflictFields })
  }

  /** One 201 and one 409 in every round, each 409 naming `field` as the check would have. */
  function expectOneWinner(statuses: Awaited<ReturnType<typeof race>>, field: string) {
    for (let round = 0; round < ROUNDS; round++) {
      expect(statuses.slice(2 * round, 2 * round + 2).sort()).toEqual([201, 409])
    }
    expect(statuses.conflictFields).toEqual(Array(ROUNDS).fill(field))
  }

  it('creating the same credential identifier: one 201, one 409 naming the field', async () => {
    const statuses = await race(
      () => `/admin/v1/instances/${c.instanceId}/credentials`,
      (round) => ({
        credentialIdentifier: `race/${round}`,
        credentialType: 'api_key',
        value: { apiKey: 'v' },
      }),
    )
    expectOneWinner(statuses, 'credentialIdentifier')
  })

  it('rotating one credential: every rotation is 201 or a 409 to retry, and none is lost', async () => {
    const base = `/admin/v1/instances/${c.instanceId}/credentials`
    const made = await send(c.nodes[0]!, 'POST', base, {
      body: { credentialIdentifier: 'race/rotated', credentialType: 'api_key', value: { apiKey: 'v0' } },
      headers: c.auth,
    })
    expect(made.status).toBe(201)
    const statuses = await race(
      () => `${base}/race%2Frotated/versions`,
      (round, node) => ({ value: { apiKey: `v${round}-${node}` } }),
    )
    expect(statuses.filter((s) => s !== 201 && s !== 409)).toEqual([])
    const now = await send(c.nodes[1]!, 'GET', `${base}/race%2Frotated`, { headers: c.auth })
    expect(now.body.currentVersion).toBe(1 + statuses.filter((s) => s === 201).length)
  })

  it('creating the same provider, federated credential or application key: one 201, one 409 naming the field', async () => {
    const i = `/admin/v1/instances/${c.instanceId}`
    const app = await send(c.nodes[0]!, 'POST', `${i}/applications`, {
      body: { name: 'racer' },
      headers: c.auth,
    })
    const applicationId = app.body.applicationId as string
    const providers = await race(
      () => `${i}/credential-providers`,
      (round) => ({ credentialProviderIdentifier: `race-${round}`, credentialProviderType: 'jwt' }),
    )
    const federated = await race(
      () => `${i}/applications/${applicationId}/federated-credentials`,
      (round) => ({
        name: `race-${round}`,
        issuer: 'https://issuer.example',
        subject: 's',
        audiences: ['a'],
        jwks: { keys: [RACE_KEY] },
      }),
    )
    const keys = await race(
      () => `${i}/applications/${applicationId}/keys`,
      // A key of its own each round: the same public key under another kid is refused as well.
      (round) => ({ jwk: { ...ROUND_KEYS[round], kid: `race-${round}` } }),
    )
    expectOneWinner(providers, 'credentialProviderIdentifier')
    expectOneWinner(federated, 'name')
    expectOneWinner(keys, 'kid')
  })
})
