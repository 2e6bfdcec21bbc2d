#!/usr/bin/env node
// `npm start`: install what is missing, build, then run the server in the foreground on the
// embedded default (SQLite and a root key under ./.strongroom). STRONGROOM_LISTEN and the other
// STRONGROOM_* variables apply as they do to `strongroom serve`.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const run = (args, what) => {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error(`npm start: ${what} failed (exit ${result.status ?? result.signal})`)
    process.exit(result.status ?? 1)
  }
}

run([join(root, 'scripts/ensure-deps.mjs')], 'installing dependencies')
run([join(root, 'node_modules/typescript/bin/tsc'), '-b'], 'building')

// Replace this process with the server so signals (Ctrl-C, SIGTERM) reach it directly.
const server = spawnSync(
  process.execPath,
  [join(root, 'packages/cli/dist/bin.js'), 'serve', ...process.argv.slice(2)],
  {
    cwd: process.cwd(),
    stdio: 'inherit',
  },
)
process.exit(server.status ?? (server.signal === 'SIGINT' || server.signal === 'SIGTERM' ? 0 : 1))
