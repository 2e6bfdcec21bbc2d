import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createTestDatabase, shellQuote, withDatabase } from './support/postgres.js'

describe('PostgreSQL test harness', () => {
  const baseUrl = inject('postgresUrl')
  const clients: pg.Client[] = []

  async function connect(url: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    clients.push(client)
    return client
  }

  beforeAll(() => {
    expect(baseUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/strongroom_test$/)
  })

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end()))
  })

  it('exposes the same URL through inject() and the environment', () => {
    expect(process.env['STRONGROOM_TEST_PG_URL']).toBe(baseUrl)
  })

  it('serves the strongroom_test database on a real PostgreSQL server', async () => {
    const client = await connect(baseUrl)
    const { rows } = await client.query<{ version: string; database: string; encoding: string }>(
      'select version() as version, current_database() as database, pg_client_encoding() as encoding',
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/)
    expect(rows[0]?.database).toBe('strongroom_test')
    expect(rows[0]?.encoding).toBe('UTF8')
  })

  it('creates isolated databases where tables can be written and read back', async () => {
    const first = await createTestDatabase(baseUrl)
    const second = await createTestDatabase(baseUrl)
    expect(first).not.toBe(second)
    expect(new URL(first).pathname).toMatch(/^\/t_[a-z0-9]+_[0-9a-f]{8}$/)

    const a = await connect(first)
    await a.query('create table vault (id integer primary key, name text not null, secret bytea)')
    await a.query('insert into vault (id, name, secret) values ($1, $2, $3)', [
      1,
      'db-prod ✓',
      Buffer.from([0, 255, 7]),
    ])
    const { rows } = await a.query<{ id: number; name: string; secret: Buffer }>(
      'select id, name, secret from vault',
    )
    expect(rows).toEqual([{ id: 1, name: 'db-prod ✓', secret: Buffer.from([0, 255, 7]) }])

    const b = await connect(second)
    const { rows: tables } = await b.query("select to_regclass('public.vault') as found")
    expect(tables).toEqual([{ found: null }])
  })

  it('creates a database with a given name, and refuses a duplicate', async () => {
    const name = `named_${process.pid}`
    const url = await createTestDatabase(baseUrl, name)
    expect(url).toBe(withDatabase(baseUrl, name))
    const client = await connect(url)
    const { rows } = await client.query('select current_database() as database')
    expect(rows).toEqual([{ database: name }])
    await expect(createTestDatabase(baseUrl, name)).rejects.toThrow(/already exists/)
  })

  it('quotes shell words for su -c', () => {
    expect(shellQuote('/usr/lib/postgresql/15/bin/pg_ctl')).toBe('/usr/lib/postgresql/15/bin/pg_ctl')
    expect(shellQuote('-p 5432 -k /tmp/x')).toBe(`'-p 5432 -k /tmp/x'`)
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`)
    expect(shellQuote('')).toBe(`''`)
  })
})
