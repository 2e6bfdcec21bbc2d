import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseFileSpec, SecretFiles } from '../../src/credential-endpoints/secret-files.js'
import { CliError, UsageError } from '../../src/errors.js'
import type { SecretFetch } from '../../src/run/references.js'
import type { FetchedSecret, SecretSource } from '../../src/run/resolve-references.js'

/** A source answering from a table the test edits; unknown identifiers are the server's 404. */
function tableSource(answers: Record<string, FetchedSecret>) {
  const calls: SecretFetch[] = []
  const source: SecretSource = {
    async fetch(request) {
      calls.push(request)
      const key = 'identifier' in request ? request.identifier : request.account
      const answer = answers[key]
      if (answer === undefined)
        throw Object.assign(new Error(`no such thing`), {
          code: 'ERR_PAM_NOT_FOUND',
          serverCode: 'CredentialNotFound',
          status: 404,
        })
      return answer
    },
  }
  return { source, calls, answers }
}

const apiKey = (value: string): FetchedSecret => ({ type: 'api_key', values: { apiKey: value } })

let dir: string
const running: SecretFiles[] = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strongroom-secret-files-'))
})
afterEach(async () => {
  for (const files of running.splice(0)) files.stop()
  await rm(dir, { recursive: true, force: true })
})

function files(specs: string[], source: SecretSource, pollMs = 60_000) {
  const logged: string[] = []
  const secrets: string[] = []
  const retired: string[] = []
  const rendered = new SecretFiles(
    specs.map((text, i) => parseFileSpec(text, i, dir)),
    {
      source,
      pollMs,
      log: (line) => logged.push(line),
      onSecret: (value) => secrets.push(value),
      onRetired: (value) => retired.push(value),
    },
  )
  running.push(rendered)
  return { rendered, logged, secrets, retired }
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777

describe('parseFileSpec', () => {
  it('reads PATH=REF, the path relative to the working folder', () => {
    const spec = parseFileSpec('secrets/api-key=strongroom://credential/demo/api-key', 0, '/work')
    expect(spec).toMatchObject({
      path: '/work/secrets/api-key',
      shown: 'secrets/api-key',
      reference: { kind: 'credential', identifier: 'demo/api-key', field: undefined },
    })
    expect(parseFileSpec('/abs/a=b=strongroom://account/db/admin/password', 0, '/work')).toMatchObject({
      path: '/abs/a=b',
      reference: { kind: 'account', account: 'db/admin', secret: 'password' },
    })
  })

  it('refuses what is not PATH=strongroom://…, without repeating the argument', () => {
    for (const text of ['just-a-secret-value', '=strongroom://credential/x', 'file=plain-value']) {
      expect(() => parseFileSpec(text, 2, '/work')).toThrow(UsageError)
      expect(() => parseFileSpec(text, 2, '/work')).toThrow(/^--file number 3 is not PATH=strongroom:\/\/…$/)
    }
    expect(() => parseFileSpec('f=strongroom://nothing/x', 0, '/w')).toThrow(
      /--file number 1 \(f\): unknown kind/,
    )
  })
})

describe('SecretFiles', () => {
  it('writes each secret to its file, mode 0600, exactly, with one request per distinct secret', async () => {
    const { source, calls } = tableSource({
      'demo/api-key': apiKey('api-key-value-1'),
      db: { type: 'password', values: { password: 'db-pw-1', username: 'dbadmin' } },
    })
    const { rendered } = files(
      [
        'api-key=strongroom://credential/demo/api-key',
        'same-key=strongroom://credential/demo/api-key/apiKey',
        'db-user=strongroom://credential/db/username',
        'db-pass=strongroom://credential/db/password',
      ],
      source,
    )
    await rendered.start()
    expect(await readFile(join(dir, 'api-key'), 'utf8')).toBe('api-key-value-1')
    expect(await readFile(join(dir, 'same-key'), 'utf8')).toBe('api-key-value-1')
    expect(await readFile(join(dir, 'db-user'), 'utf8')).toBe('dbadmin')
    expect(await readFile(join(dir, 'db-pass'), 'utf8')).toBe('db-pw-1')
    for (const name of ['api-key', 'same-key', 'db-user', 'db-pass'])
      expect(await modeOf(join(dir, name))).toBe(0o600)
    expect(calls).toHaveLength(2)
    expect((await readdir(dir)).sort()).toEqual(['api-key', 'db-pass', 'db-user', 'same-key'])
  })

  it('replaces a file that existed with a looser mode by a 0600 one', async () => {
    await writeFile(join(dir, 'api-key'), 'old', { mode: 0o644 })
    const { source } = tableSource({ k: apiKey('new-value') })
    await files(['api-key=strongroom://credential/k'], source).rendered.start()
    expect(await readFile(join(dir, 'api-key'), 'utf8')).toBe('new-value')
    expect(await modeOf(join(dir, 'api-key'))).toBe(0o600)
  })

  it('rewrites a file when a poll finds its secret changed, and only then', async () => {
    const { source, answers } = tableSource({ k: apiKey('value-one'), other: apiKey('stays') })
    const { rendered, logged } = files(
      ['a=strongroom://credential/k', 'b=strongroom://credential/other'],
      source,
      20,
    )
    await rendered.start()
    expect(rendered.writes).toBe(2)
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(rendered.writes).toBe(2) // polled, nothing changed: nothing written
    answers['k'] = apiKey('value-two')
    await expect.poll(() => rendered.writes).toBe(3)
    expect(await readFile(join(dir, 'a'), 'utf8')).toBe('value-two')
    expect(await modeOf(join(dir, 'a'))).toBe(0o600)
    expect(logged).toEqual(['a updated: strongroom://credential/k changed'])
    expect(logged.join('\n')).not.toContain('value-')
  })

  it('keeps a file as it is when a poll fails, saying why with the server code', async () => {
    const { source, answers } = tableSource({ k: apiKey('kept-value') })
    const { rendered, logged } = files(['a=strongroom://credential/k'], source, 20)
    await rendered.start()
    delete answers['k']
    await expect.poll(() => logged.length).toBeGreaterThan(0)
    await new Promise((resolve) => setTimeout(resolve, 100)) // several failed polls: one line
    expect(logged).toEqual([
      'cannot re-read a (strongroom://credential/k): CredentialNotFound: no such thing; the file keeps its value',
    ])
    expect(await readFile(join(dir, 'a'), 'utf8')).toBe('kept-value')
    answers['k'] = apiKey('kept-value')
    await expect.poll(() => logged.length).toBe(2)
    expect(logged[1]).toBe('a (strongroom://credential/k) can be read again')
    expect(rendered.writes).toBe(1)
  })

  it('writes nothing when any reference fails at start, naming the file, the reference and the code', async () => {
    const { source } = tableSource({ k: apiKey('value') })
    const { rendered } = files(['a=strongroom://credential/k', 'b=strongroom://credential/missing'], source)
    await expect(rendered.start()).rejects.toThrow(CliError)
    await expect(
      files(['a=strongroom://credential/k', 'b=strongroom://credential/missing'], source).rendered.start(),
    ).rejects.toThrow('cannot render b (strongroom://credential/missing): CredentialNotFound: no such thing')
    expect(await readdir(dir)).toEqual([])
  })

  it('writes no file when a later one cannot be written at start', async () => {
    const { source } = tableSource({ k: apiKey('first-value'), l: apiKey('second-value') })
    await writeFile(join(dir, 'kept'), 'old-value', { mode: 0o600 })
    const { rendered } = files(
      [
        'a=strongroom://credential/k',
        'kept=strongroom://credential/k',
        'no/such/dir/b=strongroom://credential/l',
      ],
      source,
    )
    await expect(rendered.start()).rejects.toThrow('cannot write no/such/dir/b: ENOENT (no file was written)')
    expect((await readdir(dir)).sort()).toEqual(['kept'])
    expect(await readFile(join(dir, 'kept'), 'utf8')).toBe('old-value')
    expect(rendered.writes).toBe(0)
  })

  it('puts back what it renamed when a later rename fails at start', async () => {
    const { source } = tableSource({ k: apiKey('first-value'), l: apiKey('second-value') })
    await writeFile(join(dir, 'kept'), 'old-value', { mode: 0o600 })
    await mkdir(join(dir, 'a-folder'))
    const { rendered } = files(
      [
        'new=strongroom://credential/k',
        'kept=strongroom://credential/k',
        'a-folder=strongroom://credential/l', // the temporary file is written; renaming it over a folder fails
      ],
      source,
    )
    await expect(rendered.start()).rejects.toThrow(/^cannot write a-folder: EISDIR \(no file was written\)$/)
    expect((await readdir(dir)).sort()).toEqual(['a-folder', 'kept'])
    expect(await readFile(join(dir, 'kept'), 'utf8')).toBe('old-value')
    expect(await readdir(join(dir, 'a-folder'))).toEqual([])
  })

  it('refuses a folder another user may write, at start (no file written) and at a poll (the file kept)', async () => {
    const { source, answers } = tableSource({ k: apiKey('first-value') })
    const shared = join(dir, 'shared')
    await mkdir(shared)
    await chmod(shared, 0o777)
    const refused = files(['a=strongroom://credential/k', 'shared/b=strongroom://credential/k'], source)
    await expect(refused.rendered.start()).rejects.toThrow(
      `cannot write shared/b: refusing to write a secret into ${shared}: it is writable by everyone (mode 0777) without being a sticky folder of this user or root; whoever can write a folder can replace the files in it. Use a folder only this user (or root) can write, e.g. chmod go-w ${shared} (no file was written)`,
    )
    expect((await readdir(dir)).sort()).toEqual(['shared'])
    expect(await readdir(shared)).toEqual([])

    // The folder opened up after the start: the poll does not write there, and says why.
    await chmod(shared, 0o700)
    const { rendered, logged } = files(['shared/b=strongroom://credential/k'], source, 20)
    await rendered.start()
    await chmod(shared, 0o770)
    answers['k'] = apiKey('second-value')
    await expect.poll(() => logged.length).toBeGreaterThan(0)
    expect(logged[0]).toMatch(
      /^cannot write shared\/b: refusing to write a secret into .*shared: it is writable by its group \(mode 0770\) .*; it keeps its old value$/,
    )
    expect(await readFile(join(shared, 'b'), 'utf8')).toBe('first-value')
  })

  it('says which values a reference no longer answers, so that redaction can forget them', async () => {
    const { source, answers } = tableSource({ k: apiKey('first-value'), l: apiKey('other-value') })
    const { rendered, retired } = files(
      ['a=strongroom://credential/k', 'b=strongroom://credential/l'],
      source,
      20,
    )
    await rendered.start()
    answers['k'] = apiKey('second-value')
    answers['l'] = apiKey('first-value') // still answered, by another reference: not retired
    await expect.poll(() => rendered.writes).toBe(4)
    expect(retired).toEqual(['other-value'])
    answers['l'] = apiKey('third-value')
    await expect.poll(() => retired).toEqual(['other-value', 'first-value'])
  })

  it('says which field a credential lacks', async () => {
    const { source } = tableSource({ db: { type: 'password', values: { password: 'x' } } })
    await expect(files(['a=strongroom://credential/db'], source).rendered.start()).rejects.toThrow(
      /credential db is of type password: name one of its fields/,
    )
  })

  it('refuses two files at one path, and a folder that does not exist', async () => {
    const { source } = tableSource({ k: apiKey('value') })
    expect(() => files(['a=strongroom://credential/k', './a=strongroom://credential/k'], source)).toThrow(
      /two --file options write/,
    )
    await expect(files(['no/such/dir/a=strongroom://credential/k'], source).rendered.start()).rejects.toThrow(
      'cannot write no/such/dir/a: ENOENT',
    )
  })
})
