import { fstatSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { AuditUnavailable } from '../../src/errors.js'
import { Committer } from '../../src/store/committer.js'
import { type CommitSyncPolicy, type DiskSync, openStore, type Store } from '../../src/store/connect.js'
import { migrate } from '../../src/store/migrations.js'

/**
 * SQLite's group commit writes its frames on the event loop and waits for the disk off it (store/
 * connect.ts, WalSync). The disk here is a stand-in that holds each asynchronous sync until the
 * test lets it return, so the order "committed, then synced, then answered" can be watched.
 */
class HeldDisk implements DiskSync {
  readonly held: { fd: number; done: (err: NodeJS.ErrnoException | null) => void }[] = []
  readonly syncedNow: number[] = []

  sync(fd: number, done: (err: NodeJS.ErrnoException | null) => void): void {
    this.held.push({ fd, done })
  }

  syncNow(fd: number): void {
    this.syncedNow.push(fd)
  }

  /** Lets the oldest held sync return (with `err` if given). */
  release(err: NodeJS.ErrnoException | null = null): number {
    const next = this.held.shift()
    if (!next) throw new Error('no sync is waiting')
    next.done(err)
    return next.fd
  }
}

const ALWAYS_DEFER: CommitSyncPolicy = { slowSyncMs: 0, deferForMs: 0 }

/** A disk whose syncs in place take `ms` (busy, as `fdatasync` blocks the thread), and may fail. */
class SlowDisk extends HeldDisk {
  ms = 0
  error: NodeJS.ErrnoException | null = null
  override syncNow(fd: number): void {
    const until = performance.now() + this.ms
    while (performance.now() < until) {}
    if (this.error) throw this.error
    super.syncNow(fd)
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await tick()
  expect(condition()).toBe(true)
}

function settled<T>(promise: Promise<T>): { readonly done: boolean } {
  const state = { done: false }
  promise.then(
    () => {
      state.done = true
    },
    () => {
      state.done = true
    },
  )
  return state
}

describe('SQLite group commits and the disk: synced in place while it is fast, off the event loop once slow', () => {
  let dir: string
  let store: Store | undefined
  afterEach(async () => {
    await store?.close()
    store = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  /** The committer defers every sync unless `commitSync` says otherwise (CommitSyncPolicy). */
  async function open(disk?: DiskSync, commitSync: CommitSyncPolicy = ALWAYS_DEFER) {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-sync-'))
    const file = join(dir, 'strongroom.db')
    // Migrations are writes outside the committer: synced before each returns.
    store = openStore(`sqlite:${file}`, disk ? { disk, commitSync } : { commitSync })
    await migrate(store)
    const committer = new Committer(store, { now: Date.now })
    return { store, committer, file }
  }

  const write = (committer: Committer, key: string) =>
    committer.run(({ trx }) => trx.insertInto('meta').values({ key, value: 'v' }).execute())
  const read = async (s: Store, key: string) =>
    (await s.db.selectFrom('meta').select('key').where('key', '=', key).executeTakeFirst())?.key

  it('answers a batch only once the WAL is synced, and commits the next batch meanwhile', async () => {
    const disk = new HeldDisk()
    const { store, committer, file } = await open(disk)
    expect(store.deferredSync).toBeDefined()

    const first = write(committer, 'first')
    const firstState = settled(first)
    await until(() => disk.held.length === 1)
    // Committed (readable) but not answered: its sync has not returned.
    expect(await read(store, 'first')).toBe('first')
    expect(firstState.done).toBe(false)

    // The next batch runs and commits while the disk works; one sync at a time, so it waits.
    const second = write(committer, 'second')
    const secondState = settled(second)
    await until(() => committer.queueDepth === 0)
    await tick()
    expect(await read(store, 'second')).toBe('second')
    expect(disk.held).toHaveLength(1)

    // The sync it is the WAL's own descriptor.
    const fd = disk.release()
    expect(fstatSync(fd).ino).toBe(statSync(`${file}-wal`).ino)
    await first
    // The first sync may have started before the second commit: one more for it.
    await until(() => disk.held.length === 1)
    expect(secondState.done).toBe(false)
    disk.release()
    await second
    expect(committer.health().ok).toBe(true)
  })

  it('syncs every write outside the group committer before it returns, and no read', async () => {
    const disk = new HeldDisk()
    const { store } = await open(disk)
    const before = disk.syncedNow.length
    await store.db.insertInto('meta').values({ key: 'outside', value: 'v' }).execute()
    expect(disk.syncedNow.length).toBe(before + 1)
    await store.db.transaction().execute(async (trx) => {
      await trx.insertInto('meta').values({ key: 'a', value: 'v' }).execute()
      await trx.insertInto('meta').values({ key: 'b', value: 'v' }).execute()
      // Not synced inside the transaction: at its commit.
      expect(disk.syncedNow.length).toBe(before + 1)
    })
    expect(disk.syncedNow.length).toBe(before + 2)
    await store.db.selectFrom('meta').selectAll().execute()
    expect(disk.syncedNow.length).toBe(before + 2)
    expect(disk.held).toHaveLength(0)
  })

  it('refuses every write after a sync has failed, and says so in its health', async () => {
    const disk = new HeldDisk()
    const { store, committer } = await open(disk)
    const unit = write(committer, 'lost')
    await until(() => disk.held.length === 1)
    disk.release(Object.assign(new Error('I/O error'), { code: 'EIO' }))
    await expect(unit).rejects.toBeInstanceOf(AuditUnavailable)
    expect(committer.health()).toMatchObject({ ok: false, reason: 'EIO' })
    // A later sync could succeed where this one failed, proving nothing: nothing more is written.
    await expect(write(committer, 'after')).rejects.toBeInstanceOf(AuditUnavailable)
    await expect(store.db.insertInto('meta').values({ key: 'x', value: 'v' }).execute()).rejects.toThrow(
      /could not be synced/,
    )
    expect(disk.held).toHaveLength(0)
  })

  it('keeps syncing the WAL file itself on the real disk, across checkpoints that reset it', async () => {
    const { store, committer, file } = await open()
    await Promise.all(Array.from({ length: 50 }, (_, i) => write(committer, `k${i}`)))
    const inode = statSync(`${file}-wal`).ino
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db)
    expect(statSync(`${file}-wal`).size).toBe(0)
    expect(statSync(`${file}-wal`).ino).toBe(inode)
    await Promise.all(Array.from({ length: 50 }, (_, i) => write(committer, `after${i}`)))
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0)
    expect(await read(store, 'after49')).toBe('after49')
    await committer.close()
  })

  it('syncs each batch before its COMMIT returns, defers after a slow sync, and syncs in place again later', async () => {
    const disk = new SlowDisk()
    const { store, committer } = await open(disk, { slowSyncMs: 5, deferForMs: 150 })
    expect(store.deferredSync?.deferring).toBe(false)
    // Fast: one sync in place per batch, none held, answered without waiting for the thread pool.
    const before = disk.syncedNow.length
    await write(committer, 'fast')
    expect(disk.syncedNow.length).toBe(before + 1)
    expect(disk.held).toHaveLength(0)

    // Only the group committer's syncs count: a slow one of another write (start-up) does not.
    disk.ms = 60
    await store.db.insertInto('meta').values({ key: 'outside', value: 'v' }).execute()
    disk.ms = 0
    expect(store.deferredSync?.deferring).toBe(false)
    // A sync now and then a little over slowSyncMs is not a slow disk.
    disk.ms = 6
    await write(committer, 'a little slow')
    disk.ms = 0
    expect(store.deferredSync?.deferring).toBe(false)
    // One sync ten times slowSyncMs (a stall): the batches after it wait for the disk off the event loop.
    disk.ms = 60
    await write(committer, 'stalled')
    disk.ms = 0
    expect(store.deferredSync?.deferring).toBe(true)
    const deferred = write(committer, 'deferred')
    const state = settled(deferred)
    await until(() => disk.held.length === 1)
    expect(state.done).toBe(false)
    disk.release()
    await deferred

    // deferForMs later, in place again.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(store.deferredSync?.deferring).toBe(false)
    const count = disk.syncedNow.length
    await write(committer, 'fast again')
    expect(disk.syncedNow.length).toBe(count + 1)
    expect(disk.held).toHaveLength(0)

    // Syncs steadily over slowSyncMs, each well under a stall: deferred once their average is.
    disk.ms = 8
    let inPlace = 0
    while (store.deferredSync?.deferring === false) {
      await write(committer, `steady ${inPlace++}`)
      expect(inPlace).toBeLessThan(30)
    }
    expect(inPlace).toBeGreaterThan(1)
    disk.ms = 0
    await committer.close()
  })

  it('refuses the batch whose sync in place failed, and every write after it', async () => {
    const disk = new SlowDisk()
    const { store, committer } = await open(disk, { slowSyncMs: 5, deferForMs: 150 })
    disk.error = Object.assign(new Error('I/O error'), { code: 'EIO' })
    await expect(write(committer, 'lost')).rejects.toThrow(/could not be synced/)
    expect(committer.health().ok).toBe(false)
    disk.error = null
    // A later sync could succeed where this one failed, proving nothing: nothing more is written.
    await expect(write(committer, 'after')).rejects.toBeInstanceOf(AuditUnavailable)
    await expect(store.db.insertInto('meta').values({ key: 'x', value: 'v' }).execute()).rejects.toThrow(
      /could not be synced/,
    )
  })
})
