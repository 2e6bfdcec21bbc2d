// `admin rotate-root-key` against PostgreSQL while a node runs: the node keeps the old root key in
// memory. It serves on with the data keys it holds, but must not wrap a new instance's key under
// the old root key, which after the rotation opens nothing the operator keeps.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rotateRootKey } from '../../src/offline.js'
import { type Cluster, openCluster, send } from './nodes-support.js'

describe('a node that runs through a root key rotation (PostgreSQL)', () => {
  let c: Cluster
  beforeAll(async () => {
    c = await openCluster(['a'])
  })
  afterAll(async () => c?.close())

  it('refuses to create an instance until it is restarted with the new key, and serves the rest', async () => {
    const node = c.nodes[0]!
    const i = `/admin/v1/instances/${c.instanceId}`
    const made = await send(node, 'POST', `${i}/credentials`, {
      body: { credentialIdentifier: 'kept/value', credentialType: 'api_key', value: { apiKey: 'v1' } },
      headers: c.auth,
    })
    expect(made.status).toBe(201)
    const dir = mkdtempSync(join(tmpdir(), 'sr-rotate-'))
    const oldKeyFile = join(dir, 'old.key')
    writeFileSync(oldKeyFile, node.rootKey, { mode: 0o600 })
    const newKeyFile = join(dir, 'new.key')
    writeFileSync(newKeyFile, randomBytes(32).toString('base64'), { mode: 0o600 })
    const rotated = await rotateRootKey({ db: c.db, rootKeyFile: oldKeyFile, newRootKeyFile: newKeyFile })
    expect(rotated.rewrapped).toBeGreaterThan(0)

    const refused = await send(node, 'POST', '/admin/v1/instances', {
      body: { name: 'late' },
      headers: c.auth,
    })
    expect(refused.status).toBe(503)
    expect(refused.body.Message).toMatch(/root key was rotated while this server ran/)
    const instances = await node.services.store.db.selectFrom('instances').select('name').execute()
    expect(instances.map((r) => r.name)).not.toContain('late')
    // What it holds it still serves.
    const revealed = await send(node, 'POST', `${i}/credentials/kept%2Fvalue/reveal`, {
      body: { reason: 'after rotation' },
      headers: c.auth,
    })
    expect(revealed.status).toBe(200)
  })
})
