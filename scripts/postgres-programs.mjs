// @ts-check
/**
 * PostgreSQL's programs for the throwaway servers that `npm run cluster` (scripts/cluster.mjs) and
 * the several-nodes benchmark (bench/postgres.mjs) start: found on PATH, else in Debian's
 * versioned folders (the newest first, as test/support/postgres.ts looks), and run as user
 * `postgres` when we are root (PostgreSQL refuses to run as root).
 */
import { execFile } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'

export const SERVER_USER = 'postgres'
export const runningAsRoot = process.getuid?.() === 0

/**
 * `initdb` and `pg_ctl`, or undefined when PostgreSQL is not installed.
 * @returns {{ initdb: string, pgCtl: string } | undefined}
 */
export function findPostgres() {
  /** @param {string} dir */
  const usable = (dir) => {
    try {
      accessSync(join(dir, 'initdb'), constants.X_OK)
      accessSync(join(dir, 'pg_ctl'), constants.X_OK)
      return { initdb: join(dir, 'initdb'), pgCtl: join(dir, 'pg_ctl') }
    } catch {
      return undefined
    }
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const found = dir ? usable(dir) : undefined
    if (found) return found
  }
  /** @type {string[]} */
  let versions = []
  try {
    versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
  } catch {
    // none there
  }
  for (const version of versions) {
    const found = usable(join('/usr/lib/postgresql', version, 'bin'))
    if (found) return found
  }
  return undefined
}

/** @param {string} word */
const quote = (word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)

/**
 * `program args…` as the command to execute: through `su postgres` when we are root.
 * @param {string} program
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
export function asServerUser(program, args) {
  return runningAsRoot
    ? ['su', [SERVER_USER, '-s', '/bin/sh', '-c', [program, ...args].map(quote).join(' ')]]
    : [program, args]
}

/**
 * Runs a PostgreSQL program as the server's user; rejects with its output when it fails.
 * @param {string} program
 * @param {string[]} args
 * @returns {Promise<void>}
 */
export function runAsServerUser(program, args) {
  const [file, argv] = asServerUser(program, args)
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${[program, ...args].join(' ')} failed: ${`${stdout}${stderr}`.trim()}`))
      else resolve()
    })
  })
}
