import { EventEmitter } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ContributorHooks, EnvironmentContributor } from '../../src/run/environment.js'
import { mergeSources } from '../../src/run/environment.js'
import { CONCEALED } from '../../src/run/masking-stream.js'
import type { ForwardedSignal, SignalSource } from '../../src/run/signals.js'
import { type SuperviseOptions, supervise } from '../../src/run/supervisor.js'
import { Collector } from '../fake-io.js'

const node = process.execPath
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strongroom-run-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A contributor with fixed variables, which can say it changed. */
class FakeContributor implements EnvironmentContributor {
  readonly name = 'fake'
  vars: Record<string, string>
  hooks: ContributorHooks | undefined
  torn = 0
  readonly #failSetup: boolean
  constructor(vars: Record<string, string>, options: { failSetup?: boolean } = {}) {
    this.vars = vars
    this.#failSetup = options.failSetup === true
  }
  async setup(hooks: ContributorHooks) {
    this.hooks = hooks
    if (this.#failSetup) throw new Error('setup failed')
    for (const value of Object.values(this.vars)) hooks.conceal(value)
  }
  environment() {
    return this.vars
  }
  watch(hooks: ContributorHooks) {
    this.hooks = hooks
  }
  async teardown() {
    this.torn++
  }
  change(vars: Record<string, string>) {
    this.vars = vars
    for (const value of Object.values(vars)) this.hooks!.conceal(value)
    this.hooks!.changed(Object.keys(vars).join(', '))
  }
}

function options(
  script: string,
  overrides: Partial<SuperviseOptions> = {},
): SuperviseOptions & { stdout: Collector; stderr: Collector } {
  return {
    command: node,
    args: ['-e', script],
    base: mergeSources([{ name: 'PATH', value: process.env['PATH'] ?? '', origin: 'test' }]),
    contributors: [],
    masking: true,
    watch: undefined,
    verbose: false,
    idleFlushMs: 200,
    ...overrides,
    stdout: new Collector(),
    stderr: new Collector(),
  }
}

describe('supervise', () => {
  it('passes the exit code on, and 128 + N for a signal', async () => {
    expect(await supervise(options('process.exit(0)'))).toBe(0)
    expect(await supervise(options('process.exit(3)'))).toBe(3)
    expect(await supervise(options('process.kill(process.pid, "SIGTERM")'))).toBe(143)
    expect(await supervise(options('process.kill(process.pid, "SIGKILL")'))).toBe(137)
  })

  it('gives the command the contributed environment, and masks it in stdout and stderr', async () => {
    const contributor = new FakeContributor({ API_KEY: 'sk_test_canary_1234' })
    const o = options(
      `process.stdout.write('out ' + process.env.API_KEY + '\\n');
       process.stderr.write('err ' + process.env.API_KEY.slice(0, 5));
       setTimeout(() => process.stderr.write(process.env.API_KEY.slice(5) + '\\n'), 30)`,
      { contributors: [contributor] },
    )
    expect(await supervise(o)).toBe(0)
    expect(o.stdout.text).toBe(`out ${CONCEALED}\n`)
    expect(o.stderr.text).toBe(`err ${CONCEALED}\n`)
    expect(contributor.torn).toBe(1)
  })

  it('leaves the output alone without masking', async () => {
    // Inherited stdio goes to the test process, not the collectors: only the exit code is seen here
    // (the end-to-end test compares the bytes).
    const o = options('process.exit(7)', {
      masking: false,
      contributors: [new FakeContributor({ A: 'value-a-1' })],
    })
    expect(await supervise(o)).toBe(7)
    expect(o.stdout.text).toBe('')
  })

  it('starts nothing when a contributor fails to set up, and tears down what was set up', async () => {
    const first = new FakeContributor({ A: 'value-a-1' })
    const second = new FakeContributor({}, { failSetup: true })
    const marker = join(dir, 'never-started')
    await expect(
      supervise(
        options(`require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`, {
          contributors: [first, second],
        }),
      ),
    ).rejects.toThrow('setup failed')
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(first.torn).toBe(1)
    expect(second.torn).toBe(1)
  })

  it('tells `remember` the secrets masked then only when it rejects, not each as it arrives', async () => {
    const remembered: string[] = []
    const fine = new FakeContributor({ API_KEY: 'sk_test_canary_1234' })
    const remember = (secret: string) => remembered.push(secret)
    expect(await supervise(options('', { contributors: [fine], remember }))).toBe(0)
    expect(remembered).toEqual([])
    const failing = supervise({
      ...options('', { contributors: [fine], remember }),
      command: join(dir, 'no-such-command'),
    })
    await expect(failing).rejects.toMatchObject({ exitCode: 127 })
    expect(remembered).toEqual(['sk_test_canary_1234'])
  })

  it('starts nothing when a value holds a NUL character, naming the variable and never the value', async () => {
    const marker = join(dir, 'nul-never')
    const o = options(`require('fs').writeFileSync(${JSON.stringify(marker)}, '')`, {
      contributors: [new FakeContributor({ SECRET: 'hello\0world-secret-canary' })],
    })
    const error = await supervise(o).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'InputInvalid',
      exitCode: 1,
      message: `cannot run ${JSON.stringify(node)}: the value of SECRET contains a NUL character, which an environment variable cannot hold`,
    })
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('rejects with 127 for a command that does not exist', async () => {
    await expect(supervise({ ...options(''), command: join(dir, 'no-such-command') })).rejects.toMatchObject({
      exitCode: 127,
    })
  })

  it('forwards signals to the command, except a Ctrl-C the terminal delivered already', async () => {
    const source = new EventEmitter()
    const marker = join(dir, 'signals')
    const script = `
      const seen = []
      for (const s of ['SIGUSR2', 'SIGINT', 'SIGHUP']) process.on(s, () => {
        seen.push(s)
        require('fs').writeFileSync(${JSON.stringify(marker)}, seen.join(','))
        if (s === 'SIGHUP') process.exit(42)
      })
      process.stdout.write('ready\\n')
      setInterval(() => {}, 1000)`
    let terminal = false
    const o = options(script, {
      signals: source as unknown as SignalSource,
      groupFacts: () =>
        terminal ? { ours: 1, foreground: 1, child: 1 } : { ours: 1, foreground: -1, child: 1 },
    })
    const done = supervise(o)
    const send = async (signal: ForwardedSignal) => {
      source.emit(signal)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    while (!o.stdout.text.includes('ready')) await new Promise((resolve) => setTimeout(resolve, 20))
    await send('SIGUSR2')
    terminal = true
    await send('SIGINT') // a Ctrl-C: the terminal sent it to the command already
    terminal = false
    await send('SIGINT') // a kill -INT from elsewhere
    await send('SIGHUP')
    expect(await done).toBe(42)
    expect(await readFile(marker, 'utf8')).toBe('SIGUSR2,SIGINT,SIGHUP')
    expect(source.listenerCount('SIGINT')).toBe(0)
  })

  it('restarts the command once when contributions change together, with the new environment', async () => {
    const contributor = new FakeContributor({ A: 'value-a-1', B: 'value-b-1' })
    const log = join(dir, 'starts')
    const o = options(
      `require('fs').appendFileSync(${JSON.stringify(log)}, process.env.A + ' ' + process.env.B + '\\n')
       process.on('SIGTERM', () => process.exit(0))
       if (process.env.A === 'value-a-2') setTimeout(() => process.exit(5), 300)
       else setInterval(() => {}, 1000)`,
      { contributors: [contributor], watch: { debounceMs: 150, jitterMs: 50, graceMs: 2000 } },
    )
    const done = supervise(o)
    while ((await readFile(log, 'utf8').catch(() => '')) === '') await new Promise((r) => setTimeout(r, 20))
    contributor.change({ A: 'value-a-2', B: 'value-b-1' })
    await new Promise((resolve) => setTimeout(resolve, 50))
    contributor.change({ A: 'value-a-2', B: 'value-b-2' })
    expect(await done).toBe(5)
    expect(await readFile(log, 'utf8')).toBe('value-a-1 value-b-1\nvalue-a-2 value-b-2\n')
    expect(o.stderr.text).toMatch(/restarting the command: SIGTERM to pid \d+, SIGKILL after 2 s/)
    expect(o.stderr.text).not.toMatch(/value-/)
  })

  it('kills a command that ignores SIGTERM after the grace period', async () => {
    const contributor = new FakeContributor({ A: 'value-a-1' })
    const log = join(dir, 'stubborn')
    const o = options(
      `require('fs').appendFileSync(${JSON.stringify(log)}, process.env.A + '\\n')
       process.on('SIGTERM', () => {})
       if (process.env.A === 'value-a-2') process.exit(0)
       setInterval(() => {}, 1000)`,
      { contributors: [contributor], watch: { debounceMs: 0, jitterMs: 0, graceMs: 300 } },
    )
    const done = supervise(o)
    while ((await readFile(log, 'utf8').catch(() => '')) === '') await new Promise((r) => setTimeout(r, 20))
    contributor.change({ A: 'value-a-2' })
    expect(await done).toBe(0)
    expect(o.stderr.text).toMatch(/did not stop: SIGKILL/)
    expect(await readFile(log, 'utf8')).toBe('value-a-1\nvalue-a-2\n')
  })
})
