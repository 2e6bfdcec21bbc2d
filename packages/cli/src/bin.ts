#!/usr/bin/env node
import { run } from './program.js'
import { isGuarded } from './run/guarded-output.js'

// A reader that goes away (`strongroom audit tail -f | head`) is not an error worth a word. Except
// under `strongroom run`, whose output handles its own errors: it must go on supervising its
// command, and exit with the command's code (see run/guarded-output.ts).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (isGuarded(process.stdout)) return
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

process.exitCode = await run(process.argv.slice(2))
