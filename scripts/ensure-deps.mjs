#!/usr/bin/env node
// Makes a fresh clone runnable: installs dependencies when node_modules is missing or older than the
// manifests, and rebuilds better-sqlite3 when its native binding does not load (e.g. after a Node
// upgrade). Silent and fast (a few stats and one in-process load) when there is nothing to do.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync, utimesSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const hiddenLockfile = join(root, 'node_modules', '.package-lock.json')

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

function manifests() {
  const paths = [join(root, 'package.json'), join(root, 'package-lock.json')]
  let entries = []
  try {
    entries = readdirSync(join(root, 'packages'), { withFileTypes: true })
  } catch {
    // no packages folder: only the root manifest counts
  }
  for (const entry of entries) {
    if (entry.isDirectory()) paths.push(join(root, 'packages', entry.name, 'package.json'))
  }
  return paths
}

/** Why an install is needed, or undefined when node_modules is up to date. */
function staleReason() {
  const installedAt = mtimeMs(hiddenLockfile)
  if (installedAt === undefined) return 'node_modules is missing'
  for (const path of manifests()) {
    const changedAt = mtimeMs(path)
    if (changedAt !== undefined && changedAt > installedAt) {
      return `${path.slice(root.length + 1)} is newer than node_modules`
    }
  }
  return undefined
}

function run(args, what) {
  const result = spawnSync(npm, args, { cwd: root, stdio: 'inherit' })
  if (result.error) fail(`could not run npm ${args.join(' ')} (${what}): ${result.error.message}`)
  if (result.status !== 0) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.status}`
    fail(`npm ${args.join(' ')} (${what}) ${how}`)
  }
}

function fail(message) {
  console.error(`ensure-deps: ${message}`)
  process.exit(1)
}

// The binding is loaded lazily by the Database constructor, so requiring the package is not enough.
// The first check runs in this process: a child `node` costs ~100 ms more on these machines, and a
// binding built for another Node version throws (ERR_DLOPEN_FAILED) rather than crashing. The check
// after a rebuild runs in a child, since this process cannot load a module that failed to load once.
const serverRequire = createRequire(join(root, 'packages', 'server', 'package.json'))
const loadSqlite = `
const { createRequire } = require('node:module')
const Database = createRequire(${JSON.stringify(join(root, 'packages', 'server', 'package.json'))})('better-sqlite3')
new Database(':memory:').close()
`

function firstLine(text) {
  return `${text}`.trim().split('\n')[0]
}

function sqliteLoadErrorHere() {
  try {
    const Database = serverRequire('better-sqlite3')
    new Database(':memory:').close()
    return undefined
  } catch (error) {
    return firstLine(error instanceof Error ? error.message : error)
  }
}

function sqliteLoadErrorInChild() {
  const result = spawnSync(process.execPath, ['-e', loadSqlite], { cwd: root, encoding: 'utf8' })
  if (result.status === 0) return undefined
  const lines = `${result.stderr ?? ''}`.trim().split('\n')
  return lines.find((line) => /^\w*Error\b/.test(line)) ?? lines[0] ?? `exit code ${result.status}`
}

const reason = staleReason()
if (reason !== undefined) {
  console.log(`ensure-deps: ${reason}; running npm install`)
  run(['install', '--no-audit', '--no-fund'], 'installing dependencies')
  // npm leaves the hidden lockfile untouched when nothing changed; mark node_modules as current so
  // that a touched package.json does not trigger an install on every run.
  const now = new Date()
  try {
    utimesSync(hiddenLockfile, now, now)
  } catch {
    // npm did not write it (no dependencies at all); the next run will check again
  }
}

const loadError = sqliteLoadErrorHere()
if (loadError !== undefined) {
  console.log(`ensure-deps: better-sqlite3 does not load (${loadError}); running npm rebuild better-sqlite3`)
  run(['rebuild', 'better-sqlite3'], 'rebuilding the SQLite binding')
  const stillFailing = sqliteLoadErrorInChild()
  if (stillFailing !== undefined) {
    fail(`better-sqlite3 still does not load after npm rebuild: ${stillFailing}`)
  }
}
