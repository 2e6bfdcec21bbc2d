#!/usr/bin/env node
// The `strongroom` command. A committed file rather than the build output: npm links a package's
// bin at install time only if the file exists, and on a fresh clone nothing is built yet.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/bin.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('strongroom: the CLI is not built yet; run `npm run build` (or `npm start`) first\n')
  process.exit(1)
}
await import(entry.href)
