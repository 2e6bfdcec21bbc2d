import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LogDestination } from '../../src/http/log-destination.js'

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

describe('LogDestination', () => {
  it('writes every line in order while the queue has room', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'strongroom-log-')), 'log')
    const fd = openSync(file, 'a')
    const log = new LogDestination(fd)
    for (let i = 0; i < 1000; i++) log.write(`line ${i}\n`)
    await settle()
    closeSync(fd)
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
    expect(lines).toHaveLength(1000)
    expect(lines[999]).toBe('line 999')
    expect(log.health()).toEqual({ droppedLines: 0, failing: false, lastError: null })
  })

  it('drops and counts what exceeds its bound while a write is in flight, instead of growing', async () => {
    const fd = openSync('/dev/null', 'w')
    const log = new LogDestination(fd, 1024 * 1024, 2)
    for (let i = 0; i < 5; i++) log.write(`line ${i}\n`)
    // The first line went to the write in flight; two wait; two found the queue full.
    expect(log.health().droppedLines).toBe(2)
    await settle()
    closeSync(fd)
  })

  it('never throws on a failing descriptor: it counts the lines and the error', async () => {
    const fd = openSync('/dev/full', 'w')
    const log = new LogDestination(fd)
    expect(log.write('a\n')).toBe(true)
    await settle()
    log.write('b\n')
    await settle()
    closeSync(fd)
    expect(log.health()).toEqual({ droppedLines: 2, failing: true, lastError: 'ENOSPC' })
  })
})
