import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../../src/program.js'
import { fakeIo } from '../fake-io.js'

const node = process.execPath
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strongroom-run-command-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('strongroom run (the command line)', () => {
  it('runs a command without references and without any client configuration, passing its exit code on', async () => {
    const io = fakeIo({ cwd: dir, env: { PLAIN: 'kept' } })
    const code = await run(
      [
        'run',
        '--env',
        'EXTRA=1',
        '--',
        node,
        '-e',
        'process.stdout.write(process.env.PLAIN + process.env.EXTRA); process.exit(4)',
      ],
      io,
    )
    expect(code).toBe(4)
    expect(io.stdout.text).toBe('kept1')
    expect(io.stderr.text).toBe('')
  })

  it('refuses watch settings without --watch, and an interval under 5 s', async () => {
    for (const [args, message] of [
      [['--watch-interval', '10'], '--watch-interval applies only with --watch'],
      [['--grace', '1'], '--grace applies only with --watch'],
      [
        ['--watch', '--watch-interval', '3'],
        "argument '3' is invalid. expected a number of seconds from 5 to 86400",
      ],
    ] as const) {
      const io = fakeIo({ cwd: dir })
      expect(await run(['run', ...args, '--', node, '-e', ''], io), args.join(' ')).toBe(2)
      expect(io.stderr.text).toContain(message)
    }
  })

  it('refuses an --env that is not NAME=VALUE without repeating it', async () => {
    const io = fakeIo({ cwd: dir })
    expect(await run(['run', '--env', 'sk_live_canary', '--', node, '-e', ''], io)).toBe(2)
    expect(io.stderr.text).toBe(
      'strongroom: --env number 1 is not NAME=VALUE (a name is a letter or _, then letters, digits, _, . or -)\n',
    )
  })

  it('reads --env-file, later sources winning, and names the line of a mistake', async () => {
    await writeFile(join(dir, 'a.env'), 'A=from-a\nB=from-a\n')
    await writeFile(join(dir, 'b.env'), 'B=from-b\nC=from-b\n')
    const out = join(dir, 'seen.json')
    const io = fakeIo({ cwd: dir, env: { A: 'inherited', D: 'inherited' } })
    const script = `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(['A','B','C','D'].map((n) => process.env[n])))`
    const args = [
      'run',
      '--env-file',
      'a.env',
      '--env-file',
      'b.env',
      '--env',
      'C=flag',
      '--',
      node,
      '-e',
      script,
    ]
    expect(await run(args, io)).toBe(0)
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(['from-a', 'from-b', 'flag', 'inherited'])

    await writeFile(join(dir, 'bad.env'), 'A=1\nnot an assignment sk_live_canary\n')
    const bad = fakeIo({ cwd: dir })
    expect(await run(['run', '--env-file', 'bad.env', '--', node, '-e', ''], bad)).toBe(1)
    expect(bad.stderr.text).toBe('strongroom: bad.env line 2: expected KEY=value\n')

    const missing = fakeIo({ cwd: dir })
    expect(await run(['run', '--env-file', 'nowhere.env', '--', node, '-e', ''], missing)).toBe(1)
    expect(missing.stderr.text).toBe('strongroom: cannot read --env-file nowhere.env: ENOENT\n')
  })

  it('starts nothing for a malformed reference', async () => {
    const marker = join(dir, 'never')
    const io = fakeIo({ cwd: dir, env: { DB: 'strongroom://account/db-admin/password' } })
    const code = await run(
      ['run', '--', node, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`],
      io,
    )
    expect(code).toBe(1)
    expect(io.stderr.text).toMatch(
      /^strongroom: DB=strongroom:\/\/account\/db-admin\/password \(the environment\) is not a reference: an account is TARGET\/ACCOUNT/,
    )
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
