import { runPrimary } from './cluster/primary.js'
import { loadConfig, type ServeFlags } from './config/config.js'
import { serveAlone } from './server.js'

/**
 * `strongroom serve`: one process, or with `workers` above 1 a primary that bootstraps, then
 * forks that many worker processes sharing its listener and the database (cluster/primary.ts).
 * Either way it runs until SIGTERM or SIGINT and shuts down gracefully; a second signal during
 * the drain exits at once.
 */
export async function serve(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(flags, env)
  await (config.workers > 1 ? runPrimary(config) : serveAlone(config))
}
