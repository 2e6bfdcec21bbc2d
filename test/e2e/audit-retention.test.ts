// Audit retention as an operator runs it: `strongroom audit archive` against the data folder of a
// running server, then every way of verifying (online, offline, the archives with and without the
// database), and what tampering with an archive looks like.
import { execFileSync } from 'node:child_process'
import { closeSync, constants, openSync } from 'node:fs'
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { cli, ok, okJson } from './cli.js'
import { whoami } from './write-load.js'

describe('audit retention with the real command', () => {
  const servers: ServerProcess[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()))
  })

  it('archives while the server runs; online, offline and archive verification agree; a tampered archive is named', async () => {
    const server = await startServer({ args: ['--audit-retention-days', '30'] })
    servers.push(server)
    const { defaultInstanceId: instance } = await whoami(server, await server.adminToken())
    for (const name of ['one', 'two', 'three']) await ok(server, ['app', 'create', '--name', name])
    const before = await okJson<{ seq: number; hash: string }[]>(server, ['audit', 'query'])
    const head = before.at(-1)!

    const archived = await runCli(['audit', 'archive', '--before', '0d', '--data-dir', server.dataDir])
    expect(archived.code, archived.stderr).toBe(0)
    const dir = join(server.dataDir, 'audit-archive')
    const file = join(dir, `audit-${instance}-000000000001-${String(head.seq - 1).padStart(12, '0')}.jsonl`)
    const last = before.at(-2)!
    expect(archived.stdout).toContain(
      `Archived events 1–${head.seq - 1} of chain ${instance} (${head.seq - 1}) to ${file}, last hash ${last.hash}.`,
    )
    expect((await stat(file)).mode & 0o777).toBe(0o600)

    // The server keeps serving and appending; what is left is the head and what came after.
    await ok(server, ['app', 'create', '--name', 'four'])
    const left = await okJson<{ seq: number }[]>(server, ['audit', 'query'])
    expect(left.map((e) => e.seq)).toEqual([head.seq, head.seq + 1])

    const anchorLine = `verified from the archive anchor at seq ${head.seq - 1}, hash ${last.hash}`
    const online = await cli(server, ['audit', 'verify'])
    expect(online.code, online.stderr).toBe(0)
    expect(online.stdout).toContain(`Audit chain of ${instance} is intact: ${anchorLine}`)
    const offline = await runCli(['audit', 'verify', '--data-dir', server.dataDir])
    expect(offline.code, offline.stderr).toBe(0)
    expect(offline.stdout).toContain(anchorLine)
    expect(offline.stdout).toMatch(
      /Audit chain of system is intact: verified from the archive anchor at seq \d+/,
    )

    const alone = await runCli(['audit', 'verify', '--archive', file])
    expect(alone.code, alone.stderr).toBe(0)
    expect(alone.stdout).toContain(`last hash ${last.hash}.`)
    const whole = await runCli(['audit', 'verify', '--archive', dir, '--data-dir', server.dataDir])
    expect(whole.code, whole.stderr).toBe(0)
    expect(whole.stdout).toContain(
      `Audit history of ${instance} verifies from its first event: archived events 1–${head.seq - 1}, then the database from the anchor at seq ${head.seq - 1} to head seq ${head.seq + 1}.`,
    )

    // A changed line in a copy of the archive: named by its sequence number, exit 1.
    const copy = join(await mkdtemp(join(tmpdir(), 'strongroom-archive-copy-')), 'tampered.jsonl')
    const lines = (await readFile(file, 'utf8')).split('\n')
    lines[2] = lines[2]!.replace('"outcome":"success"', '"outcome":"failure"')
    await writeFile(copy, lines.join('\n'))
    const tampered = await runCli(['audit', 'verify', '--archive', copy])
    expect(tampered.code).toBe(1)
    expect(tampered.stderr).toContain('audit archive is broken at seq 2: tampered.jsonl: event 2 was altered')

    // A rerun finds nothing more of the instance's chain; the archive folder holds no temporary file.
    const rerun = await runCli(['audit', 'archive', '--before', '0d', '--data-dir', server.dataDir, '--json'])
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(JSON.parse(rerun.stdout).archived.filter((r: { chain: string }) => r.chain === instance)).toEqual([
      expect.objectContaining({ firstSeq: head.seq, lastSeq: head.seq }),
    ])
    expect((await readdir(dir)).every((name) => name.startsWith('audit-') && name.endsWith('.jsonl'))).toBe(
      true,
    )
  }, 120_000)

  // One header and one 600 MiB line made `audit verify --archive` die with a stack trace; a FIFO
  // named like an archive made it wait forever. Both are reported as broken files, exit 1.
  it('reports an archive with an overlong line, and a FIFO named like one, without crashing or waiting', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strongroom-odd-archives-'))
    const long = 'audit-zz-000000000001-000000000002.jsonl'
    const header = JSON.stringify({
      format: 'strongroom-audit-archive',
      version: 1,
      kind: 'header',
      chain: 'zz',
      firstSeq: 1,
      prevHash: '0'.repeat(64),
      before: 0,
      createdAt: 0,
    })
    await writeFile(join(dir, long), `${header}\n${'a'.repeat(8 * 1024 * 1024)}\n`)
    const fifo = join(dir, 'audit-zy-000000000001-000000000002.jsonl')
    execFileSync('mkfifo', [fifo])
    try {
      const result = await runCli(['audit', 'verify', '--archive', dir], { timeoutMs: 20_000 })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(
        `audit archive is broken at seq 1: ${long}: line 2 is longer than 1 MiB (1048576 bytes), far more than any audit event takes`,
      )
      expect(result.stderr).toContain(
        'audit-zy-000000000001-000000000002.jsonl: is not a regular file (a FIFO, a device or a folder named like an archive)',
      )
      expect(result.stderr).not.toContain('RangeError')
    } finally {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
      } catch {}
    }
  }, 60_000)

  it('names the option and the rule for bad input', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'strongroom-retention-'))
    const word = await runCli(['audit', 'archive', '--before', 'yesterday', '--data-dir', dataDir])
    expect(word.code).toBe(2)
    expect(word.stderr).toContain("option '--before <time>' argument 'yesterday' is invalid")
    const future = await runCli(['audit', 'archive', '--before', '2999-01-01', '--data-dir', dataDir])
    expect(future.code).toBe(1)
    expect(future.stderr).toContain('--before must be a time in the past')
    const dirAlone = await runCli([
      'serve',
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--audit-archive-dir',
      join(dataDir, 'elsewhere'),
    ])
    expect(dirAlone.code).toBe(1)
    expect(dirAlone.stderr).toContain(
      'audit-archive-dir from --audit-archive-dir is used only with audit-retention-days: give both, or neither',
    )
    const zero = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
      env: { STRONGROOM_AUDIT_RETENTION_DAYS: '0' },
    })
    expect(zero.code).toBe(1)
    expect(zero.stderr).toContain(
      'audit-retention-days "0" from STRONGROOM_AUDIT_RETENTION_DAYS must be a whole number from 1 to 36500',
    )
  }, 60_000)
})
