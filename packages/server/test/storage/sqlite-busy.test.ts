// Another process holds SQLite's write lock (an operator's `sqlite3` shell in a transaction, an
// external `audit archive`, an orphaned worker): writes are unavailable for now, not broken. They
// are answered 503 with `Retry-After`, nothing of them is written, `/readyz` takes the node out
// while the lock is held and puts it back once it is released.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { PAM_AUDIENCE } from '@strongroom/protocol'
import SQLite from 'better-sqlite3'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { LOCKED_COOLDOWN_MS } from '../../src/store/committer.js'
import { call, openTestServer, type TestServer } from '../support/engines.js'

const require = createRequire(import.meta.url)

/** How long the server's connection waits for the lock here (250 ms in production). */
const BUSY_TIMEOUT_MS = 150

describe('SQLite write lock held by another connection', () => {
  let t: TestServer
  let file: string
  let holder: SQLite.Database | null = null
  let client: { clientId: string; secret: string; tokenUrl: string }
  /** Added to the server's clock: past `/readyz`'s 10 s without a commit, it probes. */
  let skew = 0
  const instance = () => `/admin/v1/instances/${t.instanceId}`

  beforeAll(async () => {
    t = await openTestServer('sqlite', { now: () => Date.now() + skew })
    file = t.db.slice('sqlite:'.length)
    const app = (
      await call(t, 'POST', `${instance()}/applications`, {
        name: 'worker',
        allowedScopes: [`${PAM_AUDIENCE}|.all`],
      })
    ).body
    const secret = (
      await call(t, 'POST', `${instance()}/applications/${app.applicationId}/client-secrets`, {})
    ).body
    client = {
      clientId: app.clientId,
      secret: secret.clientSecret,
      tokenUrl: `/v2/${t.instanceId}/authorizationServer/iauths_system/oauth2/token`,
    }
    // The server's read-write connection: every write of the group commit runs on it.
    await sql`pragma busy_timeout = ${sql.raw(String(BUSY_TIMEOUT_MS))}`.execute(t.services.store.db)
  })
  afterEach(() => release())
  afterAll(async () => {
    await t?.close()
  })

  function hold(): void {
    holder = new SQLite(file)
    holder.exec('BEGIN IMMEDIATE')
  }
  function release(): void {
    if (!holder) return
    holder.exec('ROLLBACK')
    holder.close()
    holder = null
  }
  /** Releases the lock and waits out the second after a refusal in which writes are refused at once. */
  async function releaseAndCool(): Promise<void> {
    release()
    await new Promise((resolve) => setTimeout(resolve, LOCKED_COOLDOWN_MS + 50))
  }

  const createCredential = (identifier: string) =>
    call(t, 'POST', `${instance()}/credentials`, {
      credentialIdentifier: identifier,
      credentialType: 'api_key',
      value: { apiKey: 'k' },
    })
  const readyz = () => t.app.inject({ method: 'GET', url: '/readyz' })
  const count = async (table: 'credentials' | 'audit_events') =>
    Number(
      (
        await t.services.store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )

  it('a write is answered 503 with Retry-After and writes nothing; the failed batch is no commit', async () => {
    expect((await readyz()).statusCode).toBe(200)
    const before = t.services.committer.health()
    expect(before.ok).toBe(true)
    const events = await count('audit_events')
    hold()
    const res = await createCredential('busy-one')
    expect(res.status).toBe(503)
    expect(res.body.Code).toBe('ServiceUnavailable')
    expect(res.headers['retry-after']).toBe('2')
    // Neither a success nor a commit: health names the lock, the last commit is the one before.
    const health = t.services.committer.health()
    expect(health).toEqual({ ok: false, reason: 'SQLITE_BUSY', lastCommitAt: before.lastCommitAt })
    await releaseAndCool()
    expect(
      await t.services.store.db
        .selectFrom('credentials')
        .select('id')
        .where('identifier', '=', 'busy-one')
        .execute(),
    ).toEqual([])
    expect(await count('audit_events')).toBe(events)
    // Once the lock is given back, the same write succeeds.
    expect((await createCredential('busy-one')).status).toBe(201)
  })

  async function notReadyWhileHeldThenReady(): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const res = await readyz()
      expect(res.statusCode).toBe(503)
      expect(res.json().Message).toContain('SQLITE_BUSY')
      expect(res.headers['retry-after']).toBe('2')
    }
    await releaseAndCool()
    const res = await readyz()
    expect(res.statusCode).toBe(200)
    expect(res.json().status).toBe('ready')
    expect(t.services.committer.health().ok).toBe(true)
  }

  it('/readyz answers 503 after a write failed so, while the lock is held, and 200 once it is released', async () => {
    expect((await createCredential('busy-two')).status).toBe(201)
    hold()
    expect((await createCredential('busy-three')).status).toBe(503)
    await notReadyWhileHeldThenReady()
  })

  it("/readyz's own probe, failing so, makes it answer 503; and 200 once the lock is released", async () => {
    expect((await readyz()).statusCode).toBe(200)
    hold()
    skew += 11_000
    await notReadyWhileHeldThenReady()
  })

  it("a probe refused alone (not for the lock) is /readyz's reason too, though its batch's empty commit succeeds", async () => {
    expect((await readyz()).statusCode).toBe(200)
    const before = t.services.committer.health()
    const other = new SQLite(file)
    const refuse = (on: 'insert' | 'update') =>
      `create trigger refuse_probe_${on} before ${on} on meta when new.key = 'write_probe' begin select raise(abort, 'refused'); end;`
    other.exec(refuse('insert') + refuse('update'))
    try {
      skew += 11_000
      const res = await readyz()
      expect(res.statusCode).toBe(503)
      expect(res.json().Message).toContain('SQLITE_CONSTRAINT_TRIGGER')
      expect(t.services.committer.health()).toEqual({
        ok: false,
        reason: 'SQLITE_CONSTRAINT_TRIGGER',
        lastCommitAt: before.lastCommitAt,
      })
    } finally {
      other.exec('drop trigger refuse_probe_insert; drop trigger refuse_probe_update;')
      other.close()
    }
    expect((await readyz()).statusCode).toBe(200)
  })

  it('a token request is answered 503 temporarily_unavailable, with Retry-After', async () => {
    const token = () =>
      t.app.inject({
        method: 'POST',
        url: client.tokenUrl,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.clientId,
          client_secret: client.secret,
        }).toString(),
      })
    hold()
    const res = await token()
    expect(res.statusCode).toBe(503)
    expect(res.json().error).toBe('temporarily_unavailable')
    expect(res.headers['retry-after']).toBe('2')
    await releaseAndCool()
    expect((await token()).statusCode).toBe(200)
  })

  // SQLite waits for another process's lock by sleeping on the event loop: each batch that tried
  // again while the lock is held stopped every request for the whole busy timeout.
  it('after a write met the lock, writes are refused at once for a second, without waiting for the lock again', async () => {
    hold()
    expect((await createCredential('busy-four')).status).toBe(503)
    const again = await createCredential('busy-five')
    expect(again.status).toBe(503)
    expect(again.headers['retry-after']).toBe('2')
    expect(again.body.Message).toMatch(/locked by another process: writes are refused for 1 s at a time/)
    await releaseAndCool()
    expect((await createCredential('busy-five')).status).toBe(201)
  })

  // A batch began with a plain BEGIN and read before it wrote: SQLite then answers another
  // process's lock with SQLITE_BUSY at once, without waiting, and the cooldown refused the writes
  // of the next second too (found by a review: a 100 ms transaction elsewhere cost 50 refusals).
  it("waits for another process's short transaction instead of refusing at once", async () => {
    // Another process: SQLite's wait sleeps on this thread, where a timer of ours could not run.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require(${JSON.stringify(require.resolve('better-sqlite3'))}))(${JSON.stringify(file)});
         db.exec('BEGIN IMMEDIATE'); process.stdout.write('held\\n');
         setTimeout(() => { db.exec('ROLLBACK'); db.close() }, ${Math.round(BUSY_TIMEOUT_MS / 3)})`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const exited = new Promise((resolve) => holder.once('exit', resolve))
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()))
    const res = await createCredential('busy-short')
    expect(res.status).toBe(201)
    expect(t.services.committer.health().ok).toBe(true)
    // And nothing is refused afterwards.
    expect((await createCredential('busy-short-2')).status).toBe(201)
    await exited
  })

  it('serves with a short busy timeout, since SQLite sleeps on the event loop while it waits', async () => {
    const { openStore, SERVING_BUSY_TIMEOUT_MS } = await import('../../src/store/connect.js')
    expect(SERVING_BUSY_TIMEOUT_MS).toBeLessThanOrEqual(250)
    const store = openStore(t.db, { busyTimeoutMs: SERVING_BUSY_TIMEOUT_MS })
    try {
      const rows = await sql<{ timeout: number }>`pragma busy_timeout`.execute(store.db)
      expect(Object.values(rows.rows[0]!)[0]).toBe(SERVING_BUSY_TIMEOUT_MS)
    } finally {
      await store.close()
    }
  })
})
