// Preloaded into a server's processes by a test (NODE_OPTIONS=--require): a process that starts
// while the file HANG_MARKER names exists writes `<marker>.<its pid>` and then blocks for good
// before it runs anything, as a worker whose start hangs would (a database that accepts and never
// answers). Deterministic where stopping a freshly forked worker with SIGSTOP races its start.
// Nothing in strongroom reads it.
const { existsSync, writeFileSync } = require('node:fs')

const marker = process.env.HANG_MARKER
if (marker && existsSync(marker)) {
  writeFileSync(`${marker}.${process.pid}`, '')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
}
