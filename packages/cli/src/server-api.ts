import type {
  archiveAuditOffline,
  backupDatabase,
  restoreDatabase,
  rotateRootKey,
  ServeFlags,
  serve,
  verifyAuditArchives,
  verifyAuditOffline,
} from '@strongroom/server'

export type { ServeFlags }

/**
 * The part of `@strongroom/server` the CLI calls, typed from the server's own declarations.
 * Tests inject a fake; `processIo().loadServer` imports the real module lazily, so admin
 * commands start without loading the database drivers.
 */
export interface ServerApi {
  serve: typeof serve
  verifyAuditOffline: typeof verifyAuditOffline
  archiveAuditOffline: typeof archiveAuditOffline
  verifyAuditArchives: typeof verifyAuditArchives
  rotateRootKey: typeof rotateRootKey
  backupDatabase: typeof backupDatabase
  restoreDatabase: typeof restoreDatabase
}
