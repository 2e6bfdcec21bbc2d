#!/usr/bin/env node
// `npm start`: install what is missing, build, then run `strongroom serve` in this very process,
// in the foreground, on the embedded default (SQLite and a root key under ./.strongroom).
// STRONGROOM_LISTEN and the other STRONGROOM_* variables apply as they do to `strongroom serve`;
// extra arguments (`npm start -- --listen 0.0.0.0:8080`) go to `serve`.
//
// In-process rather than a child: npm does not pass SIGTERM on to its script's children, and one
// process means Ctrl-C and `kill` reach the server exactly once.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const step = (args, what) => {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error(`npm start: ${what} failed (exit ${result.status ?? result.signal})`)
    process.exit(result.status ?? 1)
  }
}

step([join(root, 'scripts/ensure-deps.mjs')], 'installing dependencies')
step([join(root, 'node_modules/typescript/bin/tsc'), '-b'], 'building')

const { run } = await import(pathToFileURL(join(root, 'packages/cli/dist/program.js')).href)
process.exitCode = await run(['serve', ...process.argv.slice(2)])
