import type { AuditVerifyResult } from '@strongroom/protocol'

/** The flags of `strongroom serve`; only those given are passed, the server merges env and defaults. */
export interface ServeFlags {
  db?: string
  listen?: string
  rootKeyFile?: string
  tlsCert?: string
  tlsKey?: string
  dataDir?: string
  config?: string
  logLevel?: string
}

export interface DatabaseOptions {
  db?: string
  dataDir?: string
  rootKeyFile?: string
}

/**
 * The part of `@strongroom/server` the CLI calls. Declared here so `processIo().loadServer`
 * checks at compile time that the server module still provides it.
 */
export interface ServerApi {
  serve(flags: ServeFlags): Promise<void>
  verifyAuditOffline(options: DatabaseOptions & { instanceId?: string }): Promise<AuditVerifyResult[]>
  rotateRootKey(
    options: DatabaseOptions & { newRootKeyFile?: string },
  ): Promise<{ rewrapped: number; rootKeyFile: string }>
}
