import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../../src/program.js'
import { Collector, fakeIo } from '../fake-io.js'

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

  it('reads --dotenv, later sources winning, and names the line of a mistake', async () => {
    await writeFile(join(dir, 'a.env'), 'A=from-a\nB=from-a\n')
    await writeFile(join(dir, 'b.env'), 'B=from-b\nC=from-b\n')
    const out = join(dir, 'seen.json')
    const io = fakeIo({ cwd: dir, env: { A: 'inherited', D: 'inherited' } })
    const script = `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(['A','B','C','D'].map((n) => process.env[n])))`
    const args = [
      'run',
      '--dotenv',
      'a.env',
      '--dotenv',
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
    expect(await run(['run', '--dotenv', 'bad.env', '--', node, '-e', ''], bad)).toBe(1)
    expect(bad.stderr.text).toBe('strongroom: bad.env line 2: expected KEY=value\n')

    const missing = fakeIo({ cwd: dir })
    expect(await run(['run', '--dotenv', 'nowhere.env', '--', node, '-e', ''], missing)).toBe(1)
    expect(missing.stderr.text).toBe('strongroom: cannot read --dotenv nowhere.env: ENOENT\n')
  })

  it('refuses --env-file, which node itself reads before strongroom starts, saying it is now --dotenv', async () => {
    await writeFile(join(dir, 'plain.env'), 'A=1\n')
    const marker = join(dir, 'ran-with-env-file')
    for (const flags of [
      ['--env-file', 'plain.env'],
      ['--env-file=plain.env'],
      ['--env-file-if-exists', 'plain.env'],
    ]) {
      const io = fakeIo({ cwd: dir })
      const code = await run(
        ['run', ...flags, '--', node, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`],
        io,
      )
      expect(code, flags.join(' ')).toBe(2)
      const flag = flags[0]!.replace(/=.*/, '')
      expect(io.stderr.text).toBe(
        `strongroom: ${flag} was renamed --dotenv: node itself reads ${flag} from the command line before strongroom starts (nodejs/node#54232), so the file's NODE_OPTIONS would run code inside strongroom\n`,
      )
    }
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('refuses a NUL character in --dotenv and --env values, naming the line or the variable, never the value', async () => {
    await writeFile(join(dir, 'nul.env'), 'A=1\nB=hello\0world-secret-canary\n')
    const fromFile = fakeIo({ cwd: dir })
    expect(await run(['run', '--dotenv', 'nul.env', '--', node, '-e', ''], fromFile)).toBe(1)
    expect(fromFile.stderr.text).toBe(
      'strongroom: nul.env line 2: contains a NUL character, which an environment variable cannot hold\n',
    )

    const fromFlag = fakeIo({ cwd: dir })
    expect(await run(['run', '--env', 'B=hello\0world-secret-canary', '--', node, '-e', ''], fromFlag)).toBe(
      2,
    )
    expect(fromFlag.stderr.text).toBe(
      'strongroom: --env B: the value contains a NUL character, which an environment variable cannot hold\n',
    )
    for (const io of [fromFile, fromFlag]) expect(io.stderr.text).not.toContain('canary')
  })

  it('reports a command that spawn refuses outright by its code, not with what spawn would echo', async () => {
    const io = fakeIo({ cwd: dir })
    expect(await run(['run', '--', 'no\0such-command-canary'], io)).toBe(126)
    expect(io.stderr.text).toBe(
      'strongroom: cannot run "no\\u0000such-command-canary": ERR_INVALID_ARG_VALUE\n',
    )
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

describe('strongroom run: the credentials strongroom authenticates with', () => {
  const credentials = {
    IDAAS_CLIENT_SECRET: 'srcs_client-secret-canary',
    CLOUD_IDAAS_CLIENT_SECRET: 'srcs_env-link-secret-canary',
    CLOUD_IDAAS_OIDC_TOKEN_FILE: '/var/run/secrets/token',
    STRONGROOM_ADMIN_TOKEN: 'srat_admin-token-canary',
    MY_APP_KEY: '-----BEGIN PRIVATE KEY-----canary',
  }
  const names = [...Object.keys(credentials), 'CLOUD_IDAAS_CONFIG_PATH', 'PLAIN']
  /** A client configuration naming MY_APP_KEY as its private key's variable. */
  const configured = async () => {
    const configPath = join(dir, 'private-key-config.json')
    await writeFile(
      configPath,
      JSON.stringify({
        idaasInstanceId: 'idaas_demo',
        clientId: 'app_demo',
        issuer: 'http://127.0.0.1:9/api/v2/iauths_system/oauth2',
        tokenEndpoint: 'http://127.0.0.1:9/token',
        developerApiEndpoint: 'http://127.0.0.1:9',
        authnConfiguration: { authnMethod: 'PRIVATE_KEY_JWT', privateKeyEnvVarName: 'MY_APP_KEY' },
      }),
    )
    return { ...credentials, CLOUD_IDAAS_CONFIG_PATH: configPath, PLAIN: 'plain-value' }
  }
  /** The command prints which of `names` it got, as JSON, and the client secret. */
  const printer = [
    node,
    '-e',
    `const seen = Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, process.env[n] !== undefined]))
     console.log(JSON.stringify(seen)); console.log('secret: ' + process.env.IDAAS_CLIENT_SECRET)`,
  ]

  it('removes them from the command’s environment by default, the configuration’s own included', async () => {
    const io = fakeIo({ cwd: dir, env: await configured() })
    expect(await run(['run', '--', ...printer], io)).toBe(0)
    const [seen] = io.stdout.text.split('\n')
    expect(JSON.parse(seen!)).toEqual({
      IDAAS_CLIENT_SECRET: false,
      CLOUD_IDAAS_CLIENT_SECRET: false,
      CLOUD_IDAAS_OIDC_TOKEN_FILE: false,
      STRONGROOM_ADMIN_TOKEN: false,
      MY_APP_KEY: false,
      CLOUD_IDAAS_CONFIG_PATH: true,
      PLAIN: true,
    })
    expect(io.stderr.text).toBe('')
  })

  it('says so with --verbose, naming the variables and never a value', async () => {
    const io = fakeIo({ cwd: dir, env: await configured() })
    expect(await run(['run', '--verbose', '--', node, '-e', ''], io)).toBe(0)
    expect(io.stderr.text).toContain(
      'strongroom: not passing STRONGROOM_ADMIN_TOKEN, IDAAS_CLIENT_SECRET, CLOUD_IDAAS_CLIENT_SECRET, CLOUD_IDAAS_OIDC_TOKEN_FILE, MY_APP_KEY to the command: strongroom authenticates with them (--pass-credentials passes them)\n',
    )
    expect(io.stderr.text).not.toContain('canary')
  })

  it('passes them with --pass-credentials, masked in the output', async () => {
    const io = fakeIo({ cwd: dir, env: await configured() })
    expect(await run(['run', '--pass-credentials', '--', ...printer], io)).toBe(0)
    const [seen, secret] = io.stdout.text.split('\n')
    expect(Object.values(JSON.parse(seen!)).every(Boolean)).toBe(true)
    expect(secret).toBe('secret: <concealed by strongroom>')
    expect(io.stdout.text).not.toContain('canary')
  })

  it('passes one that --env sets explicitly, masked too', async () => {
    const io = fakeIo({ cwd: dir, env: await configured() })
    expect(await run(['run', '--env', 'IDAAS_CLIENT_SECRET=other-app-secret', '--', ...printer], io)).toBe(0)
    const [seen, secret] = io.stdout.text.split('\n')
    expect(JSON.parse(seen!)).toMatchObject({ IDAAS_CLIENT_SECRET: true, STRONGROOM_ADMIN_TOKEN: false })
    expect(secret).toBe('secret: <concealed by strongroom>')
  })
})

describe('strongroom run: a reader that goes away', () => {
  /** A stdout whose reader left after the first line: the next write fails with EPIPE, as a pipe's does. */
  class ReaderGone extends Collector {
    override _write(
      chunk: Buffer | string,
      _encoding: BufferEncoding,
      callback: (error?: Error) => void,
    ): void {
      if (this.text !== '') {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
        return
      }
      this.text += String(chunk)
      callback()
    }
  }

  for (const stream of ['stdout', 'stderr'] as const) {
    it(`on ${stream}: run keeps supervising the command, closes its end of that pipe, and exits with its code`, async () => {
      const io = fakeIo({ cwd: dir })
      const gone = new ReaderGone()
      ;(io as { stdout: Collector; stderr: Collector })[stream] = gone
      // The command writes a line, then more until a write fails; it exits 7 on EPIPE.
      const script = `const out = process.${stream}
        out.on('error', (e) => process.exit(e.code === 'EPIPE' ? 7 : 8))
        out.write('first\\n')
        setTimeout(() => setInterval(() => out.write('more\\n'), 10), 100)
        setTimeout(() => process.exit(9), 10000)`
      expect(await run(['run', '--', node, '-e', script], io)).toBe(7)
      expect(gone.text).toBe('first\n')
    })
  }
})
