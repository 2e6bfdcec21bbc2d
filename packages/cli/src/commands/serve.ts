import type { Command } from 'commander'
import { compact } from '../compact.js'
import type { ServeFlags } from '../server-api.js'
import type { ContextFor } from './context-for.js'

/** `strongroom serve`: runs the server until SIGTERM or SIGINT. Env vars and defaults are the server's. */
export function registerServeCommand(program: Command, contextFor: ContextFor): void {
  program
    .command('serve')
    .description('run the strongroom server (flags override STRONGROOM_* env vars and the config file)')
    .option('--db <url>', 'database URL: sqlite:PATH or postgres://…')
    .option('--listen <host:port>', 'address to listen on')
    .option('--root-key-file <path>', 'file holding the 32-byte root key')
    .option('--tls-cert <path>', 'TLS certificate (PEM)')
    .option('--tls-key <path>', 'TLS private key (PEM)')
    .option('--data-dir <dir>', 'folder of the embedded default (SQLite database and root key)')
    .option('--config <file>', 'configuration file')
    .option('--log-level <level>', 'log level')
    .option(
      '--public-url <url>',
      'external base URL, for issuers and endpoint URLs (default: the listening address)',
    )
    .option(
      '--metrics-listen <host:port>',
      'also serve GET /metrics (Prometheus, no token) on this address; keep it private',
    )
    .option('--db-pool-size <n>', 'PostgreSQL: connections open at most (default 10)')
    .option(
      '--db-statement-timeout-ms <ms>',
      'PostgreSQL: the longest one statement may run before it is cancelled (default 30000)',
    )
    .option(
      '--db-connect-timeout-ms <ms>',
      'PostgreSQL: the longest a query waits for a connection (default 5000)',
    )
    .option(
      '--audit-retention-days <n>',
      'archive audit events older than N days to files and remove them from the database (default: keep all)',
    )
    .option(
      '--audit-archive-dir <dir>',
      'where archived audit events go (default: audit-archive in the data folder)',
    )
    .option(
      '--workers <n>',
      'server processes sharing the address and the database: a number, or auto for one per core (default 1)',
    )
    .action(async (options: ServeFlags, command: Command) => {
      const ctx = contextFor(command)
      const server = await ctx.io.loadServer()
      await server.serve(
        compact({
          db: options.db,
          listen: options.listen,
          rootKeyFile: options.rootKeyFile,
          tlsCert: options.tlsCert,
          tlsKey: options.tlsKey,
          dataDir: options.dataDir,
          config: options.config,
          logLevel: options.logLevel,
          publicUrl: options.publicUrl,
          metricsListen: options.metricsListen,
          dbPoolSize: options.dbPoolSize,
          dbStatementTimeoutMs: options.dbStatementTimeoutMs,
          dbConnectTimeoutMs: options.dbConnectTimeoutMs,
          auditRetentionDays: options.auditRetentionDays,
          auditArchiveDir: options.auditArchiveDir,
          workers: options.workers,
        }),
      )
    })
}
