import { runPrimary } from './cluster/primary.js'
import { loadConfig, type ServeFlags } from './config/config.js'
import { ConfigError } from './errors.js'
import { prepareDataDir, serveAlone } from './server.js'
import { holdServerLock } from './store/server-lock.js'

/**
 * `strongroom serve`: one process, or with `workers` above 1 a primary that bootstraps, then
 * forks that many worker processes sharing its listener and the database (cluster/primary.ts).
 * Either way it runs until SIGTERM, SIGINT or SIGHUP and shuts down gracefully; a second signal during
 * the drain exits at once.
 */
export async function serve(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(flags, env)
  const file = config.db.startsWith('sqlite:') ? config.db.slice('sqlite:'.length) : null
  // The data folder is judged before anything is made in it, the lock included.
  if (config.dataDir !== null) prepareDataDir(config.dataDir)
  const release = file !== null && file !== ':memory:' ? holdServerLock(file) : null
  try {
    await (config.workers > 1 ? runPrimary(config) : serveAlone(config))
  } catch (err) {
    throw namingTheDatabase(err, config.db)
  } finally {
    release?.()
  }
}

/**
 * SQLite's own errors (`file is not a database`, `database disk image is malformed`) do not say
 * which file: the one line the CLI prints for them names it.
 */
function namingTheDatabase(err: unknown, db: string): unknown {
  const code = (err as { code?: unknown } | null)?.code
  if (!(err instanceof Error) || typeof code !== 'string' || !code.startsWith('SQLITE_')) return err
  if (!db.startsWith('sqlite:')) return err
  return new ConfigError(`database ${db.slice('sqlite:'.length)}: ${err.message} (${code})`, { cause: err })
}
