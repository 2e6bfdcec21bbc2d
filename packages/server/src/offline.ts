import { existsSync, lstatSync, readlinkSync, realpathSync, renameSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { AuditVerifyResult } from '@strongroom/protocol'
import { AuditBatch } from './audit/appender.js'
import { type ArchiveResult, archiveAuditEvents } from './audit/archive.js'
import { type ArchiveVerifyResult, archiveFilesIn, verifyArchives } from './audit/archive-verify.js'
import { SYSTEM_CHAIN } from './audit/chain.js'
import { verifyChainsInSnapshot } from './audit/verify.js'
import { verifySqliteChains } from './audit/verify-sqlite.js'
import { assertDatabaseFile, isPostgresUrl, sqlitePath } from './backup/database-file.js'
import { assertNotInUse } from './backup/not-in-use.js'
import { DEFAULT_DATA_DIR } from './config/config.js'
import { rewrapAll } from './crypto/keyring.js'
import { createRootKeyFile, loadRootKey, rootKeyId } from './crypto/root-key.js'
import { ConfigError } from './errors.js'
import { Committer } from './store/committer.js'
import { openStore, type Store } from './store/connect.js'
import { migrate, withStartupLock } from './store/migrations.js'
import { holdServerLock } from './store/server-lock.js'

interface DbOptions {
  db?: string
  dataDir?: string
}

/**
 * The database an offline command works on. An SQLite file must exist and be a regular file,
 * whether it comes from `--db` or `--data-dir`: opening a mistyped path would create (and the
 * migrations fill) a new database, and opening a FIFO would wait for a writer forever.
 */
function dbUrl(options: DbOptions): string {
  if (options.db && isPostgresUrl(options.db)) return options.db
  const file = options.db
    ? sqlitePath(options.db)
    : join(resolve(options.dataDir ?? DEFAULT_DATA_DIR), 'strongroom.db')
  assertDatabaseFile(
    file,
    options.db
      ? `--db ${options.db}`
      : options.dataDir
        ? `--data-dir ${options.dataDir}`
        : 'the default data folder; give --db or --data-dir',
  )
  return `sqlite:${file}`
}

/**
 * Verifies audit chains directly in the database, without a server and without the root key:
 * the chain is over plaintext metadata. One result per chain (or the one asked for), all read
 * in one snapshot: an SQLite file straight through better-sqlite3 (audit/verify-sqlite.ts),
 * PostgreSQL in a read-only transaction; both run the checks of the online verification.
 */
export async function verifyAuditOffline(
  options: DbOptions & { instanceId?: string },
): Promise<AuditVerifyResult[]> {
  const store = openStore(dbUrl(options), { readonly: true })
  try {
    // The store resolved the file (and refused a missing one); its location is `sqlite:<file>`.
    if (store.dialect === 'sqlite')
      return verifySqliteChains(store.location.slice('sqlite:'.length), options.instanceId)
    return await verifyChainsInSnapshot(store.db, options.instanceId)
  } finally {
    await store.close()
  }
}

/** The folder archives go to by default: `audit-archive` beside the SQLite database. */
export const AUDIT_ARCHIVE_DIR = 'audit-archive'

/**
 * `strongroom audit archive`: moves the audit events older than `before` out of the database into
 * archive files (audit/archive.ts), safe while servers run on the same database. The files go to
 * `outDir`, or `audit-archive` beside an SQLite database; PostgreSQL needs `outDir`.
 */
export async function archiveAuditOffline(
  options: DbOptions & { before: number; outDir?: string; instanceId?: string; now?: () => number },
): Promise<ArchiveResult & { dir: string }> {
  const now = options.now ?? Date.now
  if (!Number.isFinite(options.before) || options.before > now()) {
    throw new ConfigError(
      '--before must be a time in the past (a date, an ISO 8601 time, or Nd for N days ago)',
    )
  }
  const url = dbUrl(options)
  let dir: string
  if (options.outDir !== undefined) dir = resolve(options.outDir)
  else if (url.startsWith('sqlite:')) dir = join(dirname(url.slice('sqlite:'.length)), AUDIT_ARCHIVE_DIR)
  else throw new ConfigError('--out-dir is needed with a PostgreSQL database: where should the archives go?')
  const store = openStore(url)
  try {
    await migrate(store)
    const committer = new Committer(store, { now })
    try {
      const result = await archiveAuditEvents(
        { store, committer, now },
        {
          before: options.before,
          dir,
          actor: { type: 'system', id: 'audit-archive-command' },
          ...(options.instanceId === undefined ? {} : { chains: [options.instanceId] }),
        },
      )
      return { ...result, dir }
    } finally {
      await committer.close()
    }
  } finally {
    await store.close()
  }
}

/**
 * `strongroom audit verify --archive PATH…`: verifies archive files (a folder: the archives in
 * it) on their own and one after another, from each chain's first event (or, with
 * `allowPartial`, from its first file given); with `db` or `dataDir`, also against the anchors
 * (every archive the database records must be given) and the events left in the database. Reads
 * only; needs no root key.
 */
export async function verifyAuditArchives(
  options: DbOptions & { archives: readonly string[]; allowPartial?: boolean },
): Promise<ArchiveVerifyResult> {
  const files = archiveFilesIn(options.archives)
  const verify = { allowPartial: options.allowPartial === true }
  if (options.db === undefined && options.dataDir === undefined) return verifyArchives(files, null, verify)
  const store = openStore(dbUrl(options))
  try {
    return await verifyArchives(files, store.db, verify)
  } finally {
    await store.close()
  }
}

/**
 * Re-wraps every data key under a new root key, in one transaction. The new key goes to
 * `<rootKeyFile>.new` (or the file given) before the commit and replaces the old file after
 * it; a crash in between is finished by the next start, which finds the `.new` file matching.
 */
export async function rotateRootKey(
  options: DbOptions & { rootKeyFile?: string; newRootKeyFile?: string },
): Promise<{ rewrapped: number; rootKeyFile: string }> {
  const url = dbUrl(options)
  const rootKeyFile = resolve(options.rootKeyFile ?? join(options.dataDir ?? DEFAULT_DATA_DIR, 'root.key'))
  const envKey = process.env.STRONGROOM_ROOT_KEY
  const useEnv = options.rootKeyFile === undefined && envKey !== undefined && envKey !== ''
  // The new key replaces the file by a rename, which would replace a link with a regular file
  // here (the new key where the link was, the old one left at its target).
  if (!useEnv && options.newRootKeyFile === undefined) {
    refuseSymlink(rootKeyFile, (real) => `give --root-key-file ${real} to rotate the key file itself`)
    refuseSymlink(`${rootKeyFile}.new`, () => `remove it`)
  }
  const oldKey = useEnv
    ? loadRootKey({ kind: 'env', base64: envKey })
    : loadRootKey({ kind: 'file', path: rootKeyFile, create: false })
  if (useEnv && options.newRootKeyFile === undefined) {
    throw new ConfigError(
      'the root key comes from STRONGROOM_ROOT_KEY: give --new-root-key-file for the new key',
    )
  }
  const target = resolve(options.newRootKeyFile ?? `${rootKeyFile}.new`)
  const created = !existsSync(target)
  const newKey = created
    ? createRootKeyFile(target)
    : loadRootKey({ kind: 'file', path: target, create: false })
  if (newKey.equals(oldKey)) throw new ConfigError('the new root key is the current one; nothing to rotate')
  let committed = false
  let store: Store | undefined
  let releaseLock: (() => void) | undefined
  try {
    // A server running on the file keeps the old root key and would wrap new instances' keys
    // under it, after the old key file is gone. (PostgreSQL nodes are refused such a wrap:
    // Keyring.createInstanceKey; they serve on with the data keys they hold until restarted.)
    if (url.startsWith('sqlite:')) {
      // The server's own lock, held to the end: see `holdServerLock`.
      releaseLock = holdServerLock(url.slice('sqlite:'.length), 'rotating the root key')
      assertNotInUse(url.slice('sqlite:'.length), 'rotating the root key')
    }
    store = openStore(url)
    await migrate(store)
    const dialect = store.dialect
    const rewrapped = await withStartupLock(store, async (trx) => {
      const count = await rewrapAll(trx, dialect, oldKey, newKey)
      // In the system chain, in the rotation's own transaction: a privileged change to every
      // wrapped key leaves its event, with the keys' public fingerprints (never a key).
      const audit = new AuditBatch(trx, dialect, Date.now)
      await audit.append({
        instanceId: SYSTEM_CHAIN,
        actor: { type: 'system', id: 'rotate-root-key' },
        action: 'root_key.rotate',
        outcome: 'success',
        details: { rewrapped: count, fromRootKeyId: rootKeyId(oldKey), toRootKeyId: rootKeyId(newKey) },
      })
      await audit.finish()
      return count
    })
    committed = true
    if (options.newRootKeyFile === undefined) {
      try {
        renameSync(target, rootKeyFile)
      } catch (err) {
        // The database opens with the new key only: it must not be lost with the rename.
        throw new ConfigError(
          `the database now uses the new root key, in ${target}, but it could not replace ${rootKeyFile} (${(err as Error).message}): keep ${target}, and move it to ${rootKeyFile} yourself or start the server with --root-key-file ${target}`,
          { cause: err },
        )
      }
      return { rewrapped, rootKeyFile }
    }
    return { rewrapped, rootKeyFile: target }
  } catch (err) {
    // Removed only while nothing uses it: once the rewrap has committed, it is the only key.
    if (created && !committed) rmSync(target, { force: true })
    throw err
  } finally {
    await store?.close()
    releaseLock?.()
  }
}

/** Refuses a key file that is a symbolic link: a rotation renames the new key over the path itself. */
function refuseSymlink(path: string, fix: (real: string) => string): void {
  let link: boolean
  try {
    link = lstatSync(path).isSymbolicLink()
  } catch {
    return // missing: loading the key (or creating the new one) says what is wrong
  }
  if (!link) return
  let real: string
  try {
    real = realpathSync(path)
  } catch {
    real = resolve(dirname(path), readlinkSync(path))
  }
  throw new ConfigError(
    `${path} is a symbolic link (to ${real}): rotating would replace the link with a regular file holding the new key and leave the old key at ${real}; ${fix(real)}, or give --new-root-key-file FILE to write the new key to a file of your choice`,
  )
}
