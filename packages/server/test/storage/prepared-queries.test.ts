import { afterEach, describe, expect, it } from 'vitest'
import { prepare } from '../../src/store/prepared.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const instanceName = prepare(['id'], (db, p) =>
  db.selectFrom('instances').select(['id', 'name']).where('id', '=', p.id),
)

describe.each(ENGINES)('prepared queries on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  it('run in the transaction they are given, and read only committed data from the pool while a batch is open', async () => {
    t = await openTestServer(engine)
    const { store, committer } = t.services
    const id = t.instanceId
    expect((await instanceName.first(store, store.db, { id }))?.name).toBe('default')
    expect(await instanceName.first(store, store.db, { id: 'idaas_none' })).toBeUndefined()

    let inside!: () => void
    const entered = new Promise<void>((resolve) => {
      inside = resolve
    })
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const unit = committer.run(async ({ trx }) => {
      await trx.updateTable('instances').set({ name: 'renamed' }).where('id', '=', id).execute()
      // Its own write, through the same prepared query on the transaction.
      expect((await instanceName.first(store, trx, { id }))?.name).toBe('renamed')
      inside()
      await gate
    })
    await entered
    // The batch is open and holds SQLite's one read-write connection: the pool still answers,
    // with what is committed, and does not wait for the batch.
    expect((await instanceName.first(store, store.db, { id }))?.name).toBe('default')
    release()
    await unit
    expect((await instanceName.first(store, store.db, { id }))?.name).toBe('renamed')
  })

  it('refuses a definition that leaves a parameter unused', async () => {
    t = await openTestServer(engine)
    const broken = prepare(['id', 'unused'], (db, p) =>
      db.selectFrom('instances').select('id').where('id', '=', p.id),
    )
    await expect(
      broken.first(t.services.store, t.services.store.db, { id: 'x', unused: 'y' }),
    ).rejects.toThrow(/parameter unused is not used/)
  })
})
