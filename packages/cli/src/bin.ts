#!/usr/bin/env node
import { run } from './program.js'

// A reader that goes away (`strongroom audit tail -f | head`) is not an error worth a word.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

process.exitCode = await run(process.argv.slice(2))
