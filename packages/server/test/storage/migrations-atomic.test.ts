// A run of migrations on SQLite is all or nothing. Kysely ran each statement on its own there,
// so a server stopped while it migrated (a restart during an upgrade) left tables of a migration
// it had not recorded, and every later start failed with "table … already exists".
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../../src/store/connect.js'
import { migrate } from '../../src/store/migrations.js'
import { freshDatabase } from '../support/engines.js'

describe('migrations on SQLite', () => {
  let store: Store | undefined
  afterEach(async () => store?.close())

  const tables = async (s: Store) =>
    (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(s.db)).rows
      .map((r) => r.name)
      .filter((name) => !name.startsWith('sqlite_') && !name.startsWith('kysely_'))
      .sort()

  it('leave nothing of a run that fails part-way, and the next run completes it', async () => {
    const { db } = await freshDatabase('sqlite')
    store = openStore(db)
    // A later migration of the run fails: it creates a table that is already there.
    await sql`create table application_keys (x integer)`.execute(store.db)
    await expect(migrate(store)).rejects.toThrow(/application_keys/)
    expect(await tables(store)).toEqual(['application_keys'])
    const recorded = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(store.db)
    expect(recorded.rows[0]!.n).toBe(0)
    await sql`drop table application_keys`.execute(store.db)
    expect((await migrate(store)).length).toBeGreaterThan(10)
    expect(await tables(store)).toContain('instances')
  })
})
