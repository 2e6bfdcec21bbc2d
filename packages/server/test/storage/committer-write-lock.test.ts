import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { GENESIS_HASH } from '../../src/audit/chain.js'
import { verifyChain } from '../../src/audit/verify.js'
import { AuditUnavailable, ServiceUnavailable } from '../../src/errors.js'
import { closeServices, openServices } from '../../src/server.js'
import { Committer, type WriteLock } from '../../src/store/committer.js'
import { type DiskSync, openStore, type Store, WriteOutsideLock } from '../../src/store/connect.js'
import { migrate } from '../../src/store/migrations.js'
import { DatabaseUnavailable } from '../../src/store/postgres-pool.js'
import { sharedWriteLocks } from '../support/write-locks.js'

// Two committers on two connections to one SQLite file stand for two worker processes of
// `serve --workers 2`, taking turns through one LockQueue as the workers do through the primary's.
const ACTOR = { type: 'admin_token', id: 'atk_test' } as const

describe('the write lock around group-commit batches (SQLite, several writers)', () => {
  const dirs: string[] = []
  const stores: Store[] = []
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  async function twoWriters(
    lockFor: (id: number) => WriteLock,
    disk?: DiskSync,
    onSyncFailure?: (code: string) => void,
  ) {
    const dir = mkdtempSync(join(tmpdir(), 'sr-write-lock-'))
    dirs.push(dir)
    const file = `sqlite:${join(dir, 'db.sqlite')}`
    // Migrated and seeded before the writers start, as the primary does before it forks.
    const setup = openStore(file)
    await migrate(setup)
    await setup.db
      .insertInto('audit_heads')
      .values({ instance_id: 'ins_a', seq: 0, hash: GENESIS_HASH })
      .execute()
    await setup.close()
    const locks = [lockFor(1), lockFor(2)]
    // Each store refuses a write its writer makes without the lock, as a worker's does.
    const [first, second] = locks.map((lock, i) =>
      openStore(file, {
        ...(disk && i === 0 ? { disk } : {}),
        ...(onSyncFailure && i === 0 ? { onSyncFailure } : {}),
        writeGuard: () => lock.holds(),
      }),
    ) as [Store, Store]
    stores.push(first, second)
    const committers = [first, second].map(
      (store, i) => new Committer(store, { now: Date.now, maxBatch: 16, writeLock: locks[i]! }),
    )
    return { first, second, committers }
  }

  it('lets batches of two writers take turns: every unit commits, one chain, no seq twice', async () => {
    const locks = sharedWriteLocks()
    const log: string[] = []
    const { first, committers } = await twoWriters((id) => locks.lockFor(id, log))
    const units = Array.from({ length: 200 }, (_, n) =>
      committers[n % 2]!.run(({ audit }) =>
        audit.append({ instanceId: 'ins_a', actor: ACTOR, action: 'credential.create', outcome: 'success' }),
      ),
    )
    const appended = await Promise.all(units)
    expect(new Set(appended.map((a) => a.seq)).size).toBe(200)
    expect(Math.max(...appended.map((a) => a.seq))).toBe(200)
    const verified = await verifyChain(first.db, 'ins_a')
    expect(verified).toMatchObject({ ok: true, checked: 200 })
    // Held by one batch at a time: every hold is followed by that holder's release.
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i]).toMatch(/^hold (\d)$/)
      expect(log[i + 1]).toBe(log[i]!.replace('hold', 'free'))
    }
    expect(log.filter((l) => l === 'hold 1').length).toBeGreaterThan(1)
    expect(log.filter((l) => l === 'hold 2').length).toBeGreaterThan(1)
    for (const committer of committers) await committer.close()
  })

  it('releases the lock after a batch that failed, and refuses a batch whose lock cannot be had', async () => {
    const locks = sharedWriteLocks()
    const log: string[] = []
    let refuse = false
    const { committers } = await twoWriters((id) => {
      const lock = locks.lockFor(id, log)
      return {
        acquire: () =>
          refuse
            ? Promise.reject(
                new ServiceUnavailable(
                  'the primary is gone',
                  Object.assign(new Error('the primary is gone'), { code: 'PRIMARY_GONE' }),
                ),
              )
            : lock.acquire(),
        release: lock.release,
        holds: lock.holds,
      }
    })
    const [one] = committers as [Committer, Committer]
    // The database went away in the middle of a batch: the whole batch is rolled back and refused.
    await expect(
      one.run(async ({ trx }) => {
        await trx.insertInto('meta').values({ key: 'x', value: '1' }).execute()
        throw new DatabaseUnavailable('the database is unavailable; retry later')
      }),
    ).rejects.toThrow(/unavailable/)
    // The unit is refused first; the rollback, then the release, follow.
    for (let i = 0; i < 100 && log.length < 2; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(log).toEqual(['hold 1', 'free 1'])
    expect(locks.queue.heldBy).toBeNull()
    refuse = true
    await expect(one.run(async () => 'never')).rejects.toThrow(/the primary is gone/)
    expect(one.health()).toMatchObject({ ok: false, reason: 'PRIMARY_GONE' })
    refuse = false
    await expect(one.run(async () => 'again')).resolves.toBe('again')
    expect(one.health().ok).toBe(true)
    for (const committer of committers) await committer.close()
  })

  it('gives the lock back as soon as COMMIT returns, and answers only once the sync after it is done', async () => {
    const locks = sharedWriteLocks()
    const log: string[] = []
    let failWith: NodeJS.ErrnoException | null = null
    const disk: DiskSync = {
      sync: (_fd, done) => done(null),
      syncNow: () => {
        log.push('sync')
        if (failWith) throw failWith
      },
    }
    const { committers } = await twoWriters((id) => locks.lockFor(id, log), disk)
    const [one] = committers as [Committer, Committer]
    const answered = await one.run(async ({ audit }) => {
      await audit.append({
        instanceId: 'ins_a',
        actor: ACTOR,
        action: 'credential.create',
        outcome: 'success',
      })
      log.push('unit')
      return 'done'
    })
    log.push(answered)
    // The other writer may write while this one's disk works; no one hears of the write before it.
    expect(log).toEqual(['hold 1', 'unit', 'free 1', 'sync', 'done'])

    log.length = 0
    failWith = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
    await expect(one.run(async () => 'lost')).rejects.toBeInstanceOf(AuditUnavailable)
    expect(log).toEqual(['hold 1', 'free 1', 'sync'])
    // A failed sync is final: nothing more is written through this store.
    failWith = null
    await expect(one.run(async () => 'after')).rejects.toBeInstanceOf(AuditUnavailable)
    expect(one.health().ok).toBe(false)
    for (const committer of committers) await committer.close()
  })

  it('refuses a write made outside the committer while the file has other writers, and lets reads through', async () => {
    const locks = sharedWriteLocks()
    const { first, second, committers } = await twoWriters((id) => locks.lockFor(id))
    const [one, other] = committers as [Committer, Committer]
    const insert = (store: Store, key: string) =>
      store.db.insertInto('meta').values({ key, value: '1' }).execute()
    // Outside a batch nobody holds the lock: the write would meet another writer's batch at the
    // file's lock. Refused before SQLite sees it.
    await expect(insert(first, 'outside')).rejects.toBeInstanceOf(WriteOutsideLock)
    // Also while the other writer's batch holds the lock, the case it exists for.
    let inside!: () => void
    const holding = new Promise<void>((resolve) => {
      inside = resolve
    })
    let letGo!: () => void
    const batch = other.run(async ({ trx }) => {
      await trx.insertInto('meta').values({ key: 'theirs', value: '1' }).execute()
      inside()
      await new Promise<void>((resolve) => {
        letGo = resolve
      })
    })
    await holding
    await expect(insert(first, 'meanwhile')).rejects.toBeInstanceOf(WriteOutsideLock)
    letGo()
    await batch
    // Reads need no lock; writes inside a unit have it.
    await one.run(({ trx }) => insert({ ...first, db: trx }, 'inside'))
    const keys = await second.db
      .selectFrom('meta')
      .select('key')
      .where('key', 'in', ['outside', 'meanwhile', 'theirs', 'inside'])
      .execute()
    expect(keys.map((k) => k.key).sort()).toEqual(['inside', 'theirs'])
    for (const committer of committers) await committer.close()
  })

  it('reports a failed sync once, and the other writer, told of it, refuses every write and is unready', async () => {
    const locks = sharedWriteLocks()
    const reported: string[] = []
    const disk: DiskSync = {
      sync: (_fd, done) => done(null),
      syncNow: () => {
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
      },
    }
    const { second, committers } = await twoWriters(
      (id) => locks.lockFor(id),
      disk,
      (code) => reported.push(code),
    )
    const [one, other] = committers as [Committer, Committer]
    await expect(one.run(async () => 'lost')).rejects.toBeInstanceOf(AuditUnavailable)
    await expect(one.run(async () => 'lost too')).rejects.toBeInstanceOf(AuditUnavailable)
    expect(reported).toEqual(['EIO'])
    // The other writer's own syncs succeed (its descriptor did not see the error), but the frames it
    // would build on may never have reached the disk: told, it fails for good as well.
    await expect(other.run(async () => 'fine')).resolves.toBe('fine')
    second.deferredSync!.failShared('EIO')
    const refused = await other.run(async () => 'refused').catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(AuditUnavailable)
    expect(((refused as Error).cause as Error).message).toMatch(
      /another worker of this server could not sync/,
    )
    expect(other.health()).toMatchObject({ ok: false, reason: 'EIO' })
    for (const committer of committers) await committer.close()
  })

  it("starts a worker after another worker's sync failed: it serves, refuses every write, and is unready", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-write-lock-'))
    dirs.push(dir)
    const config = {
      db: `sqlite:${join(dir, 'db.sqlite')}`,
      rootKey: { kind: 'env' as const, base64: randomBytes(32).toString('base64') },
      dataDir: null,
    }
    // The primary migrates and bootstraps first.
    await closeServices((await openServices(config)).services)
    const locks = sharedWriteLocks()
    const reported: string[] = []
    const { services } = await openServices(
      config,
      Date.now,
      {},
      {
        otherWriters: true,
        writeLock: locks.lockFor(1),
        syncFailures: { before: 'EIO', report: (code) => reported.push(code) },
      },
    )
    try {
      // Reads work: it started, its start-up transaction (which writes nothing) included.
      const instances = await services.store.db.selectFrom('instances').select('id').execute()
      expect(instances.length).toBeGreaterThan(0)
      const refused = await services.committer.run(async () => 'write').catch((err: unknown) => err)
      expect(refused).toBeInstanceOf(AuditUnavailable)
      expect(services.committer.health()).toMatchObject({ ok: false, reason: 'EIO' })
      // Its own syncs never failed: nothing to report to the others.
      expect(reported).toEqual([])
    } finally {
      await closeServices(services)
    }
  })
})
