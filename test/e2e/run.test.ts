// `strongroom run`: a command started with strongroom:// references in its environment replaced by
// secrets, as the demo workload, against the real server and the built CLI. Covers what the command
// sees, exit codes, signals, masking, --watch, and that run's own output never holds a secret.
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cliBin, runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { ok, okJson } from './cli.js'

const CONCEALED = '<concealed by strongroom>'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** A `strongroom run` process, in a session of its own (no controlling terminal), output kept as bytes. */
interface RunProcess {
  readonly child: ChildProcess
  stdout(): Buffer
  stderr(): string
  /** Exit code once it exited; rejects after `timeoutMs`. */
  readonly exited: Promise<number | null>
}

describe('strongroom run', () => {
  let server: ServerProcess
  let env: Record<string, string | undefined>
  let applicationId: string
  let apiKey: string
  const running = new Set<ChildProcess>()

  const path = (name: string) => join(server.dataDir, name)

  /**
   * Starts `strongroom run ARGS` as the demo workload. `detached`: a new session, so the signals
   * the tests send come from `kill`, not a terminal, wherever the tests themselves run.
   */
  const startRun = (
    args: string[],
    options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
  ) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
    for (const [name, value] of Object.entries({ ...env, ...options.env })) {
      if (value === undefined) delete childEnv[name]
      else childEnv[name] = value
    }
    const child = spawn(process.execPath, [cliBin, 'run', ...args], {
      cwd: server.dataDir,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    running.add(child)
    const out: Buffer[] = []
    let err = ''
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk
    })
    const timeoutMs = options.timeoutMs ?? 30_000
    const exited = new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`strongroom run ${args.join(' ')} did not finish in ${timeoutMs} ms\nstderr:\n${err}`),
        )
      }, timeoutMs)
      child.once('close', (code) => {
        clearTimeout(timer)
        running.delete(child)
        resolve(code)
      })
    })
    // An assertion that never looks at `exited` must not leave an unhandled rejection behind.
    exited.catch(() => {})
    const run: RunProcess = { child, stdout: () => Buffer.concat(out), stderr: () => err, exited }
    return run
  }

  /** Runs to the end and returns the exit code and output. */
  const runToEnd = async (args: string[], options: { env?: Record<string, string | undefined> } = {}) => {
    const run = startRun(args, options)
    const code = await run.exited
    return { code, stdout: run.stdout(), stderr: run.stderr() }
  }

  /** Waits until `check` holds, polling; fails after `timeoutMs` with `what`. */
  const until = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await sleep(50)
    }
  }
  const fileText = (name: string) => readFile(path(name), 'utf8').catch(() => '')
  const exists = (name: string) =>
    stat(path(name)).then(
      () => true,
      () => false,
    )

  /** A script for the command, written to the data folder. */
  const script = async (name: string, source: string) => {
    await writeFile(path(name), source)
    return path(name)
  }

  const reveal = async (identifier: string) =>
    (await okJson(server, ['credential', 'reveal', identifier])).value.apiKey as string
  const createApiKey = (identifier: string, value: string) =>
    ok(server, ['credential', 'create', '--identifier', identifier, '--type', 'api_key'], value)
  const rotate = (identifier: string, value: string) => ok(server, ['credential', 'put', identifier], value)

  /** Every secret a test injected, none of which may appear in run's own stderr. */
  const canaries: string[] = []
  const expectNoSecret = (text: string) => {
    for (const secret of canaries) expect(text).not.toContain(secret)
  }

  beforeAll(async () => {
    server = await startServer()
    const configPath = path('client-config.json')
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { clientId: string }
    const apps = await okJson<{ applicationId: string; clientId: string }[]>(server, ['app', 'list'])
    applicationId = apps.find((a) => a.clientId === config.clientId)!.applicationId
    env = {
      CLOUD_IDAAS_CONFIG_PATH: configPath,
      IDAAS_CLIENT_SECRET: (await readFile(path('client-secret'), 'utf8')).trim(),
      STRONGROOM_ADMIN_TOKEN: undefined,
      STRONGROOM_URL: undefined,
      HOME: server.dataDir,
    }
    apiKey = await reveal('demo/api-key')
    canaries.push(apiKey)
    for (const name of ['alpha', 'beta', 'gamma']) {
      const value = `run-e2e-${name}-value-1`
      await createApiKey(`run-e2e/${name}`, value)
      canaries.push(value)
    }
    await ok(
      server,
      ['credential', 'create', '--identifier', 'run-e2e/db', '--type', 'password', '--username', 'db_owner'],
      'run-e2e-db-password-1',
    )
    canaries.push('run-e2e-db-password-1')
    await createApiKey('elsewhere/not-granted', 'not-granted-value-1')
    await ok(server, [
      'grant',
      'create',
      '--app',
      applicationId,
      '--type',
      'credential',
      '--resource',
      'run-e2e/',
      '--prefix',
      '--actions',
      'obtain',
    ])
  })

  afterEach(() => {
    // A test that failed half-way must not leave a command behind (the whole group: run and its child).
    for (const child of running) {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }
    running.clear()
  })
  afterAll(async () => server?.stop())

  it('gives the command the resolved values from the environment, --dotenv and --env; plain values pass through', async () => {
    const out = path('seen-env.json')
    const child = await script(
      'print-env.mjs',
      `import { writeFileSync } from 'node:fs'
       const names = ['API_KEY', 'DB_USER', 'DB_PASS', 'ADMIN_PW', 'PLAIN', 'OVERRIDDEN']
       writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.fromEntries(names.map((n) => [n, process.env[n]]))))`,
    )
    await writeFile(
      path('app.env'),
      [
        '# the database',
        'export DB_USER=strongroom://credential/run-e2e/db/username',
        'DB_PASS="strongroom://credential/run-e2e/db/password"  # a comment',
        'OVERRIDDEN=from-file',
      ].join('\n'),
    )
    const r = await runToEnd(
      [
        '--dotenv',
        'app.env',
        '--env',
        'API_KEY=strongroom://credential/demo/api-key',
        '--env',
        'OVERRIDDEN=from-flag',
        '--reason',
        'e2e of strongroom run',
        '--',
        process.execPath,
        child,
      ],
      { env: { ADMIN_PW: 'strongroom://account/demo-db/admin/password', PLAIN: 'hello world' } },
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const seen = JSON.parse(await readFile(out, 'utf8')) as Record<string, string>
    const adminPassword = (
      await runCli(['get', 'password', 'demo-db/admin', '--reason', 'e2e'], { env, cwd: server.dataDir })
    ).stdout.trim()
    canaries.push(adminPassword)
    expect(seen).toEqual({
      API_KEY: apiKey,
      DB_USER: 'db_owner',
      DB_PASS: 'run-e2e-db-password-1',
      ADMIN_PW: adminPassword,
      PLAIN: 'hello world',
      OVERRIDDEN: 'from-flag',
    })
    expect(r.stdout.toString()).toBe('')
  })

  it('fails before anything starts on a missing or refused reference, naming the variable and the reference', async () => {
    const marker = path('should-not-exist')
    const never = [
      '--',
      process.execPath,
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`,
    ]

    const missing = await runToEnd([
      '--env',
      'GOOD=strongroom://credential/demo/api-key',
      '--env',
      'MISSING=strongroom://credential/run-e2e/missing',
      ...never,
    ])
    expect(missing.code).toBe(1)
    expect(missing.stdout.toString()).toBe('')
    expect(missing.stderr).toMatch(
      /^strongroom: cannot resolve MISSING=strongroom:\/\/credential\/run-e2e\/missing \(--env\): CredentialNotFound: /,
    )
    expect(missing.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expectNoSecret(missing.stderr)

    const refused = await runToEnd(never, {
      env: { NOT_MINE: 'strongroom://credential/elsewhere/not-granted' },
    })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /^strongroom: cannot resolve NOT_MINE=strongroom:\/\/credential\/elsewhere\/not-granted \(the environment\): PermissionDenied: /,
    )
    expect(refused.stderr).not.toContain('not-granted-value-1')

    const malformed = await runToEnd(never, { env: { TYPO: 'strongroom://credentials/demo/api-key' } })
    expect(malformed.code).toBe(1)
    expect(malformed.stderr).toMatch(
      /^strongroom: TYPO=strongroom:\/\/credentials\/demo\/api-key \(the environment\) is not a reference: unknown kind "credentials"/,
    )

    const noReason = await runToEnd(['--env', 'PW=strongroom://account/demo-db/admin/password', ...never])
    expect(noReason.code).toBe(1)
    expect(noReason.stderr).toMatch(
      /PW=strongroom:\/\/account\/demo-db\/admin\/password \(--env\): ReasonRequired: /,
    )

    expect(await exists('should-not-exist')).toBe(false)
  })

  it('exits with the command’s exit code: 0, 3, and 143 when SIGTERM killed it; 127 when it is not found', async () => {
    const refs = ['--env', 'K=strongroom://credential/demo/api-key', '--']
    expect((await runToEnd([...refs, process.execPath, '-e', 'process.exit(0)'])).code).toBe(0)
    expect((await runToEnd([...refs, process.execPath, '-e', 'process.exit(3)'])).code).toBe(3)
    expect(
      (await runToEnd([...refs, process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")'])).code,
    ).toBe(143)
    const notFound = await runToEnd([...refs, 'strongroom-no-such-command'])
    expect(notFound.code).toBe(127)
    expect(notFound.stderr).toBe('strongroom: cannot run "strongroom-no-such-command": command not found\n')
    const notExecutable = await runToEnd([...refs, path('client-config.json')])
    expect(notExecutable.code).toBe(126)
  })

  it('forwards SIGINT and SIGTERM sent to run to the command', async () => {
    const child = await script(
      'trap.mjs',
      `import { writeFileSync } from 'node:fs'
       const [marker, ready] = process.argv.slice(2)
       process.on('SIGINT', () => { writeFileSync(marker, 'SIGINT'); process.exit(42) })
       process.on('SIGTERM', () => { writeFileSync(marker, 'SIGTERM'); process.exit(43) })
       writeFileSync(ready, String(process.pid))
       setInterval(() => {}, 1000)`,
    )
    for (const [signal, code] of [
      ['SIGINT', 42],
      ['SIGTERM', 43],
    ] as const) {
      const marker = `trapped-${signal}`
      const ready = `ready-${signal}`
      const run = startRun([
        '--env',
        'K=strongroom://credential/demo/api-key',
        '--',
        process.execPath,
        child,
        path(marker),
        path(ready),
      ])
      await until(`${signal} test command to start`, () => exists(ready))
      run.child.kill(signal)
      expect(await run.exited).toBe(code)
      expect(await fileText(marker)).toBe(signal)
      expectNoSecret(run.stderr())
    }
  })

  it('does not deliver a Ctrl-C twice: in a terminal, the command gets it from the terminal only', async () => {
    // `script` (util-linux) runs `run` in a new pseudo-terminal, in its foreground process group;
    // a ^C byte written to the terminal makes its line discipline send SIGINT to that whole group.
    // Two SIGINTs close together may merge into one in the kernel, so a count alone cannot tell:
    // run also says (--verbose) that it left this one to the terminal.
    const child = await script(
      'count-sigint.mjs',
      `import { appendFileSync, writeFileSync } from 'node:fs'
       const [marker, ready] = process.argv.slice(2)
       process.on('SIGINT', () => { appendFileSync(marker, 'SIGINT\\n'); setTimeout(() => process.exit(42), 500) })
       writeFileSync(ready, 'x')
       setInterval(() => {}, 1000)`,
    )
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`
    const command = [
      process.execPath,
      cliBin,
      'run',
      '--verbose',
      '--env',
      'K=strongroom://credential/demo/api-key',
    ]
      .concat(['--', process.execPath, child, path('ctrl-c-marker'), path('ctrl-c-ready')])
      .map(quote)
      .join(' ')
    // `exec`: no shell in between, which would take the ^C for itself.
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, SHELL: '/bin/sh', NO_COLOR: '1' }
    delete childEnv['STRONGROOM_ADMIN_TOKEN']
    delete childEnv['STRONGROOM_URL']
    const terminal = spawn('script', ['-q', '-f', '-e', '-c', `exec ${command}`, '/dev/null'], {
      cwd: server.dataDir,
      env: childEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    })
    running.add(terminal)
    let output = ''
    terminal.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    const exited = new Promise<number | null>((resolve) => terminal.once('close', resolve))
    await until('the command in the terminal to start', () => exists('ctrl-c-ready'))
    terminal.stdin!.write('\x03')
    expect(await exited).toBe(42)
    terminal.stdin!.end()
    expect(await fileText('ctrl-c-marker')).toBe('SIGINT\n')
    expect(output).toContain('SIGINT: the terminal sent it to the command too; not forwarded')
    expect(output).not.toContain('forwarded to the command')
  })

  it('masks a secret written whole, split over two writes, and on stderr', async () => {
    const child = await script(
      'leak.mjs',
      `const key = process.env.API_KEY
       process.stdout.write('whole: ' + key + '\\n')
       process.stdout.write('split: ' + key.slice(0, 9))
       setTimeout(() => {
         process.stdout.write(key.slice(9) + ' :end\\n')
         process.stderr.write('stderr: ' + key + '\\n')
       }, 25)`,
    )
    const r = await runToEnd([
      '--env',
      'API_KEY=strongroom://credential/demo/api-key',
      '--',
      process.execPath,
      child,
    ])
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(`whole: ${CONCEALED}\nsplit: ${CONCEALED} :end\n`)
    expect(r.stderr).toBe(`stderr: ${CONCEALED}\n`)
  })

  it('leaves the output byte-exact with --no-masking', async () => {
    const child = await script(
      'bytes.mjs',
      `process.stdout.write(Buffer.concat([Buffer.from([0, 255, 13, 10, 0xc3]), Buffer.from(process.env.API_KEY), Buffer.from('\\n')]))`,
    )
    const expected = Buffer.concat([
      Buffer.from([0, 255, 13, 10, 0xc3]),
      Buffer.from(apiKey),
      Buffer.from('\n'),
    ])
    const r = await runToEnd([
      '--no-masking',
      '--env',
      'API_KEY=strongroom://credential/demo/api-key',
      '--',
      process.execPath,
      child,
    ])
    expect(r.code).toBe(0)
    expect(r.stdout.equals(expected)).toBe(true)
    expect(r.stderr).toBe('')
    // The same bytes with masking: only the secret differs.
    const masked = await runToEnd([
      '--env',
      'API_KEY=strongroom://credential/demo/api-key',
      '--',
      process.execPath,
      child,
    ])
    expect(
      masked.stdout.equals(
        Buffer.concat([Buffer.from([0, 255, 13, 10, 0xc3]), Buffer.from(`${CONCEALED}\n`)]),
      ),
    ).toBe(true)
  })

  describe('--watch', () => {
    /** A long-running command that logs each start, with the hash of what it got, and stops on SIGTERM. */
    const watchedCommand = () =>
      script(
        'watched.mjs',
        `import { appendFileSync } from 'node:fs'
         import { createHash } from 'node:crypto'
         const [log] = process.argv.slice(2)
         const hash = (v) => createHash('sha256').update(v ?? '').digest('hex')
         appendFileSync(log, JSON.stringify({ pid: process.pid, A: hash(process.env.A), B: hash(process.env.B) }) + '\\n')
         process.stdout.write('started with ' + process.env.A + '\\n')
         process.on('SIGTERM', () => process.exit(0))
         setInterval(() => {}, 1000)`,
      )
    const starts = async (log: string) =>
      (await fileText(log))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { pid: number; A: string; B: string })
    const polls = (run: RunProcess) => run.stderr().match(/watch: poll \d+/g)?.length ?? 0
    const watchArgs = [
      '--watch',
      '--watch-interval',
      '5',
      '--watch-debounce',
      '0.5',
      '--watch-jitter',
      '0',
      '--grace',
      '3',
      '--verbose',
    ]

    it('restarts the command exactly once when two referenced secrets rotate together, with the new values', async () => {
      const command = await watchedCommand()
      const log = 'starts-rotate.jsonl'
      const run = startRun(
        [
          ...watchArgs,
          // Longer than an interval: should the two rotations straddle a poll, the second change
          // still falls in the first one's window, so the test cannot see two restarts by chance.
          '--watch-debounce',
          '6',
          '--env',
          'A=strongroom://credential/run-e2e/alpha',
          '--env',
          'B=strongroom://credential/run-e2e/beta',
          '--',
          process.execPath,
          command,
          path(log),
        ],
        { timeoutMs: 45_000 },
      )
      await until('the first poll', () => polls(run) >= 1)
      expect(await starts(log)).toHaveLength(1)
      // Both right after a poll: the next one sees the two changes together.
      await Promise.all([
        rotate('run-e2e/alpha', 'run-e2e-alpha-value-2'),
        rotate('run-e2e/beta', 'run-e2e-beta-value-2'),
      ])
      canaries.push('run-e2e-alpha-value-2', 'run-e2e-beta-value-2')
      await until('the restart', async () => (await starts(log)).length >= 2, 25_000)
      const pollsAfterRestart = polls(run)
      await until('one more poll', () => polls(run) > pollsAfterRestart, 10_000)

      const seen = await starts(log)
      expect(seen).toHaveLength(2)
      expect(seen[0]).toMatchObject({ A: sha256('run-e2e-alpha-value-1'), B: sha256('run-e2e-beta-value-1') })
      expect(seen[1]).toMatchObject({ A: sha256('run-e2e-alpha-value-2'), B: sha256('run-e2e-beta-value-2') })
      expect(run.stderr().match(/restarting the command/g)).toHaveLength(1)
      expect(run.stderr()).toMatch(/A, B changed: the command restarts/)
      // The masker learnt the new value; the old one stays hidden too.
      expect(run.stdout().toString()).toBe(`started with ${CONCEALED}\nstarted with ${CONCEALED}\n`)
      expectNoSecret(run.stderr())

      run.child.kill('SIGTERM')
      expect(await run.exited).toBe(0)
    }, 60_000)

    it('does not restart when nothing changed, and keeps the command running when a poll fails', async () => {
      const command = await watchedCommand()
      const log = 'starts-still.jsonl'
      const run = startRun(
        [
          ...watchArgs,
          '--env',
          'A=strongroom://credential/run-e2e/gamma',
          '--',
          process.execPath,
          command,
          path(log),
        ],
        { timeoutMs: 45_000 },
      )
      await until('two polls', () => polls(run) >= 2, 15_000)
      expect(run.stderr()).toMatch(/watch: poll 1 re-read 1 reference: no change/)
      expect(run.stderr()).toMatch(/watch: poll 2 re-read 1 reference: no change/)
      expect(await starts(log)).toHaveLength(1)

      await ok(server, ['credential', 'disable', 'run-e2e/gamma'])
      await until('a failed poll', () => /watch: cannot re-read/.test(run.stderr()), 10_000)
      expect(run.stderr()).toMatch(
        /strongroom: watch: cannot re-read A=strongroom:\/\/credential\/run-e2e\/gamma \(--env\): CredentialDisabled: .*the command keeps the value it has/,
      )
      expect(await starts(log)).toHaveLength(1)
      expect(run.child.exitCode).toBeNull()
      expect(run.stderr()).not.toMatch(/restarting/)
      expectNoSecret(run.stderr())

      run.child.kill('SIGTERM')
      expect(await run.exited).toBe(0)
    }, 60_000)
  })

  it('reads --dotenv in strongroom, not in node: a NODE_OPTIONS line runs no code in the CLI; --env-file is refused', async () => {
    const marker = path('required-by')
    await writeFile(
      path('record.cjs'),
      `require('fs').appendFileSync(${JSON.stringify(marker)}, String(process.argv[1]) + '\\n')`,
    )
    await writeFile(path('options.env'), `NODE_OPTIONS=--require ${path('record.cjs')}\nFROM_FILE=yes\n`)
    // The file's variables are the command's: its NODE_OPTIONS applies to a node command, there only.
    const child = await script('print-from-file.cjs', 'console.log(process.env.FROM_FILE)')
    const r = await runToEnd(['--dotenv', 'options.env', '--', process.execPath, child])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('yes\n')
    expect(await fileText('required-by')).toBe(`${child}\n`) // not the CLI's bin.js: node left the file alone

    const refused = await runToEnd(['--env-file', 'options.env', '--', '/bin/sh', '-c', 'exit 0'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toBe(
      "strongroom: --env-file was renamed --dotenv: node itself reads --env-file from the command line before strongroom starts (nodejs/node#54232), so the file's NODE_OPTIONS would run code inside strongroom\n",
    )
  })

  it('does not pass the workload’s own client secret to the command, unless --pass-credentials (masked then)', async () => {
    const child = await script(
      'print-credentials.mjs',
      `console.log(JSON.stringify({ API_KEY: process.env.API_KEY?.length, IDAAS_CLIENT_SECRET: process.env.IDAAS_CLIENT_SECRET ?? null, CONFIG: process.env.CLOUD_IDAAS_CONFIG_PATH !== undefined }))`,
    )
    const args = ['--env', 'API_KEY=strongroom://credential/demo/api-key', '--', process.execPath, child]
    const stripped = await runToEnd(args)
    expect(stripped.stderr).toBe('')
    expect(stripped.code).toBe(0)
    expect(JSON.parse(stripped.stdout.toString())).toEqual({
      API_KEY: apiKey.length, // strongroom authenticated with the secret it did not pass on
      IDAAS_CLIENT_SECRET: null,
      CONFIG: true,
    })

    const passed = await runToEnd(['--pass-credentials', ...args])
    expect(passed.code).toBe(0)
    expect(JSON.parse(passed.stdout.toString())).toEqual({
      API_KEY: apiKey.length,
      IDAAS_CLIENT_SECRET: CONCEALED,
      CONFIG: true,
    })
    expect(passed.stdout.toString()).not.toContain(env['IDAAS_CLIENT_SECRET']!)
  })

  for (const stream of ['stdout', 'stderr'] as const) {
    it(`keeps supervising the command when the reader of its ${stream} goes away, and exits with the command's code`, async () => {
      const marker = path(`${stream}-gone`)
      // The command writes a line, then more every 20 ms; a failed write (EPIPE) makes it record
      // that and exit 7. It would end by itself after 20 s (exit 9).
      const child = await script(
        `writes-${stream}.mjs`,
        `import { writeFileSync } from 'node:fs'
         const out = process.${stream}
         out.on('error', (e) => { writeFileSync(${JSON.stringify(marker)}, e.code); process.exit(7) })
         out.write('first\\n')
         setInterval(() => out.write('more\\n'), 20)
         setTimeout(() => process.exit(9), 20000)`,
      )
      const run = startRun(['--', process.execPath, child])
      const readable = run.child[stream]!
      await until('the first line', () =>
        (stream === 'stdout' ? run.stdout().toString() : run.stderr()).includes('first'),
      )
      readable.destroy() // the reader goes away: run's next write there fails with EPIPE
      const code = await run.exited
      expect(code, run.stderr()).toBe(7)
      expect(await fileText(`${stream}-gone`)).toBe('EPIPE')
    })
  }

  it('never prints a secret of its own: --verbose, a command that cannot start, a refused reference', async () => {
    const cases = [
      [
        '--verbose',
        '--env',
        'A=strongroom://credential/demo/api-key',
        '--',
        process.execPath,
        '-e',
        'process.exit(0)',
      ],
      ['--verbose', '--env', 'A=strongroom://credential/demo/api-key', '--', 'strongroom-no-such-command'],
      [
        '--env',
        'A=strongroom://credential/demo/api-key',
        '--env',
        'B=strongroom://credential/run-e2e/missing',
        '--',
        'true',
      ],
      ['--env', 'A=strongroom://credential/run-e2e/db', '--', 'true'],
      ['--env', 'A=strongroom://credential/demo/api-key', '--env', 'bad', '--', 'true'],
    ]
    for (const args of cases) {
      const r = await runToEnd(args)
      expect(r.stdout.toString(), args.join(' ')).toBe('')
      expectNoSecret(r.stderr)
      expect(r.stderr, args.join(' ')).toMatch(/^strongroom: /)
    }
  })
})
