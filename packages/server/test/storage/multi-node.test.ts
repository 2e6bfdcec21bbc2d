import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/audit/verify.js'
import { buildApp } from '../../src/http/app.js'
import { closeServices, type OpenedServices, openServices } from '../../src/server.js'
import { freshDatabase } from '../support/engines.js'

describe('several nodes on one PostgreSQL database', () => {
  const nodes: OpenedServices[] = []
  afterEach(async () => {
    for (const n of nodes.splice(0)) await closeServices(n.services)
  })

  it('migrate and bootstrap exactly once when started together, then share one unbroken audit chain', async () => {
    const { db } = await freshDatabase('postgres')
    const rootKey = { kind: 'env', base64: randomBytes(32).toString('base64') } as const
    const started = await Promise.all([1, 2, 3].map(() => openServices({ db, rootKey, dataDir: null })))
    nodes.push(...started)
    const tokens = started.map((n) => n.boot.adminToken).filter((t) => t !== null)
    expect(tokens).toHaveLength(1)
    const instanceIds = new Set(started.map((n) => n.services.defaultInstanceId))
    expect(instanceIds.size).toBe(1)
    const [instanceId] = [...instanceIds]
    const auth = { authorization: `Bearer ${tokens[0]}`, 'content-type': 'application/json' }

    const apps = started.map((n) => buildApp(n.services))
    const writes = apps.flatMap((app, node) =>
      Array.from({ length: 60 }, (_, i) =>
        app.inject({
          method: 'POST',
          url: `/admin/v1/instances/${instanceId}/credentials`,
          headers: auth,
          payload: JSON.stringify({
            credentialIdentifier: `node${node}/c${i}`,
            credentialType: 'api_key',
            value: { apiKey: `v${i}` },
          }),
        }),
      ),
    )
    const results = await Promise.all(writes)
    expect(results.map((r) => r.statusCode).filter((s) => s !== 201)).toEqual([])
    // A credential written on one node is readable, decrypted, on another.
    const read = await apps[2]!.inject({
      method: 'POST',
      url: `/admin/v1/instances/${instanceId}/credentials/node0%2Fc7/reveal`,
      headers: auth,
      payload: '{}',
    })
    expect(JSON.parse(read.body).value).toEqual({ apiKey: 'v7' })
    const chain = await verifyChain(started[0]!.services.store.db, instanceId!)
    // 1 bootstrap event + 180 creations + 1 reveal, numbered without a gap or a fork.
    expect(chain).toMatchObject({ ok: true, headSeq: 182, checked: 182 })
    for (const app of apps) await app.close()
  })
})
