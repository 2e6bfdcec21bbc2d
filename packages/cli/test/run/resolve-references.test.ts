import { afterEach, describe, expect, it, vi } from 'vitest'
import { CliError } from '../../src/errors.js'
import type { ContributorHooks } from '../../src/run/environment.js'
import { mergeSources } from '../../src/run/environment.js'
import type { SecretFetch } from '../../src/run/references.js'
import {
  type FetchedSecret,
  ReferencesContributor,
  type SecretSource,
  settleAll,
} from '../../src/run/resolve-references.js'

/** An error shaped like the SDK's PamError. */
function pamError(serverCode: string, message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_PAM_NOT_FOUND', serverCode, status: 404 })
}

/** A source answering from a table, counting requests and how many ran at once. */
function fakeSource(answers: Record<string, FetchedSecret | Error>) {
  const calls: SecretFetch[] = []
  let running = 0
  let most = 0
  const source: SecretSource = {
    async fetch(request) {
      calls.push(request)
      running++
      most = Math.max(most, running)
      await new Promise((resolve) => setTimeout(resolve, 5))
      running--
      const key = 'identifier' in request ? request.identifier : `${request.kind}:${request.account}`
      const answer = answers[key]
      if (answer === undefined) throw pamError('CredentialNotFound', `no such thing ${key}`)
      if (answer instanceof Error) throw answer
      return answer
    },
  }
  return { source, calls, most: () => most }
}

function hooks() {
  const concealed: string[] = []
  const retired: string[] = []
  const lines: string[] = []
  const changes: string[] = []
  const h: ContributorHooks = {
    conceal: (value) => {
      concealed.push(value)
      return value.length >= 4
    },
    retire: (value) => retired.push(value),
    changed: (what) => changes.push(what),
    report: (line) => lines.push(line),
    verbose: (line) => lines.push(`(verbose) ${line}`),
    signal: new AbortController().signal,
  }
  return { hooks: h, concealed, retired, lines, changes }
}

const env = (vars: Record<string, string>) =>
  mergeSources(Object.entries(vars).map(([name, value]) => ({ name, value, origin: '--env' })))

const apiKey = (value: string): FetchedSecret => ({ type: 'api_key', values: { apiKey: value } })

afterEach(() => {
  vi.useRealTimers()
})

describe('ReferencesContributor', () => {
  it('replaces references, leaves other values alone, and conceals the secrets', async () => {
    const { source } = fakeSource({
      'demo/api-key': apiKey('demo-key-value'),
      db: { type: 'password', values: { password: 'db-password-value', username: 'dbadmin' } },
      'account-password:db/admin': { type: 'account', values: { value: 'admin-pw-value' } },
      'account-ssh-key:web/deploy': { type: 'account', values: { value: '-----BEGIN KEY-----\nk\n' } },
      gh: { type: 'provider', values: { value: 'gho_token_value' } },
    })
    const refs = new ReferencesContributor(
      env({
        PLAIN: 'hello',
        API_KEY: 'strongroom://credential/demo/api-key',
        DB_USER: 'strongroom://credential/db/username',
        DB_PASS: 'strongroom://credential/db/password',
        ADMIN: 'strongroom://account/db/admin/password',
        KEY: 'strongroom://account/web/deploy/ssh-key',
        TOKEN: 'strongroom://provider/gh/oauth-token',
      }),
      source,
    )
    const h = hooks()
    await refs.setup(h.hooks)
    expect(refs.environment()).toEqual({
      API_KEY: 'demo-key-value',
      DB_USER: 'dbadmin',
      DB_PASS: 'db-password-value',
      ADMIN: 'admin-pw-value',
      KEY: '-----BEGIN KEY-----\nk\n',
      TOKEN: 'gho_token_value',
    })
    // The username is public: injected, not concealed.
    expect(h.concealed.sort()).toEqual(
      [
        'demo-key-value',
        'db-password-value',
        'admin-pw-value',
        '-----BEGIN KEY-----\nk\n',
        'gho_token_value',
      ].sort(),
    )
  })

  it('makes one request per distinct secret, at most the concurrency limit at a time', async () => {
    const answers: Record<string, FetchedSecret> = {}
    const vars: Record<string, string> = {}
    for (let i = 0; i < 20; i++) {
      answers[`c${i}`] = apiKey(`value-number-${i}`)
      vars[`A${i}`] = `strongroom://credential/c${i}`
      vars[`B${i}`] = `strongroom://credential/c${i}/apiKey`
    }
    const { source, calls, most } = fakeSource(answers)
    const refs = new ReferencesContributor(env(vars), source, { concurrency: 3 })
    await refs.setup(hooks().hooks)
    expect(calls).toHaveLength(20)
    expect(most()).toBe(3)
    expect(refs.counts).toEqual({ variables: 40, requests: 20 })
  })

  it('fails before anything starts, naming the variable, the reference and the code, never a value', async () => {
    const { source } = fakeSource({ ok: apiKey('canary-resolved-value') })
    const refs = new ReferencesContributor(
      env({ GOOD: 'strongroom://credential/ok', MISSING: 'strongroom://credential/missing' }),
      source,
    )
    const h = hooks()
    const error = await refs.setup(h.hooks).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(1)
    expect((error as CliError).message).toBe(
      'cannot resolve MISSING=strongroom://credential/missing (--env): CredentialNotFound: no such thing missing',
    )
    expect((error as CliError).message).not.toContain('canary-resolved-value')
    expect(h.lines).toEqual([])
  })

  it('reports every failure, one line each, the last as the error', async () => {
    const { source } = fakeSource({
      pw: { type: 'password', values: { password: 'x-password-x' } },
    })
    const refs = new ReferencesContributor(
      env({
        A: 'strongroom://credential/nope',
        B: 'strongroom://credential/pw',
        C: 'strongroom://credential/pw/privateKey',
      }),
      source,
    )
    const h = hooks()
    const error = (await refs.setup(h.hooks).catch((e: unknown) => e)) as CliError
    expect(h.lines).toEqual([
      'cannot resolve A=strongroom://credential/nope (--env): CredentialNotFound: no such thing nope',
      'cannot resolve B=strongroom://credential/pw (--env): credential pw is of type password: name one of its fields, e.g. strongroom://credential/pw/password (its fields: password)',
    ])
    expect(error.message).toBe(
      'cannot resolve C=strongroom://credential/pw/privateKey (--env): credential pw is of type password and has no privateKey (its fields: password) (3 references failed; nothing was started)',
    )
    for (const line of [...h.lines, error.message]) expect(line).not.toContain('x-password-x')
  })

  it('refuses malformed references without asking the server', async () => {
    const { source, calls } = fakeSource({ ok: apiKey('value-ok-1') })
    const refs = new ReferencesContributor(
      env({ OK: 'strongroom://credential/ok', BAD: 'strongroom://credentials/ok' }),
      source,
    )
    await expect(refs.setup(hooks().hooks)).rejects.toThrow(
      /^BAD=strongroom:\/\/credentials\/ok \(--env\) is not a reference: unknown kind "credentials"/,
    )
    expect(calls).toEqual([])
  })

  it('says when a value is too short to be masked', async () => {
    const { source } = fakeSource({ short: apiKey('abc') })
    const refs = new ReferencesContributor(env({ PIN: 'strongroom://credential/short' }), source)
    const h = hooks()
    await refs.setup(h.hooks)
    expect(h.lines.filter((l) => !l.startsWith('(verbose)'))).toEqual([
      "PIN's value is shorter than 4 characters: it is not masked in the output",
    ])
  })

  it('polls: reports a change once for secrets that changed together, keeps old values when a poll fails', async () => {
    const answers: Record<string, FetchedSecret | Error> = {
      a: apiKey('value-a-1'),
      b: apiKey('value-b-1'),
      c: apiKey('value-c-1'),
    }
    const { source, calls } = fakeSource(answers)
    const refs = new ReferencesContributor(
      env({ A: 'strongroom://credential/a', B: 'strongroom://credential/b', C: 'strongroom://credential/c' }),
      source,
      { watchIntervalMs: 5000 },
    )
    const h = hooks()
    await refs.setup(h.hooks)
    vi.useFakeTimers()
    refs.watch(h.hooks)

    await vi.advanceTimersByTimeAsync(5010)
    expect(calls).toHaveLength(6)
    expect(h.changes).toEqual([])

    answers['a'] = apiKey('value-a-2')
    answers['b'] = apiKey('value-b-2')
    await vi.advanceTimersByTimeAsync(5010)
    expect(h.changes).toEqual(['A, B'])
    // Replaced values are retired once the command restarts with the new ones (they leave its
    // environment then), so that the masking set does not grow with each rotation.
    expect(h.retired).toEqual([])
    expect(refs.environment()).toMatchObject({ A: 'value-a-2', B: 'value-b-2', C: 'value-c-1' })
    expect(h.retired.sort()).toEqual(['value-a-1', 'value-b-1'])
    expect(h.concealed).toEqual(expect.arrayContaining(['value-a-2', 'value-b-2']))

    answers['c'] = pamError('PermissionDenied', 'not granted')
    await vi.advanceTimersByTimeAsync(5010)
    expect(h.changes).toEqual(['A, B'])
    expect(refs.environment()).toMatchObject({ C: 'value-c-1' })
    expect(h.lines.filter((l) => l.startsWith('watch: cannot'))).toEqual([
      'watch: cannot re-read C=strongroom://credential/c (--env): PermissionDenied: not granted; the command keeps the value it has, and the next poll tries again',
    ])
    for (const line of h.lines) expect(line).not.toMatch(/value-[abc]-\d/)

    await refs.teardown()
    const before = calls.length
    await vi.advanceTimersByTimeAsync(20_000)
    expect(calls).toHaveLength(before)
  })

  it('needs no request, and no client, without references', async () => {
    const source: SecretSource = { fetch: () => Promise.reject(new Error('never')) }
    const refs = new ReferencesContributor(env({ A: 'plain' }), source)
    await refs.setup(hooks().hooks)
    expect(refs.environment()).toEqual({})
  })
})

describe('settleAll', () => {
  it('keeps the order of the items and settles every one', async () => {
    const results = await settleAll([3, 1, 2], 2, async (n) => {
      await new Promise((resolve) => setTimeout(resolve, n))
      if (n === 1) throw new Error('one')
      return n * 10
    })
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      30,
      'one',
      20,
    ])
  })
})
