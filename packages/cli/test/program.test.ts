import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { run } from '../src/program.js'
import { fakeFetch, fakeIo, pipedStdin } from './fake-io.js'

const INSTANCE = 'idaas_00000000000000000000000000'
const env = { STRONGROOM_URL: 'http://sr.test', STRONGROOM_ADMIN_TOKEN: 'srat_TOKEN' }
const whoami = { adminTokenId: 'atk_1', name: 'bootstrap', instanceId: null, defaultInstanceId: INSTANCE }
const credential = {
  credentialId: 'cred_1',
  credentialIdentifier: 'payments/stripe',
  credentialName: 'payments/stripe',
  credentialType: 'api_key',
  status: 'enabled',
  description: '',
  instanceId: INSTANCE,
  currentVersion: 1,
  createTime: 0,
  updateTime: 0,
}
const base = `/admin/v1/instances/${INSTANCE}`

describe('run', () => {
  it('accepts --json after the subcommand and prints only the JSON array', async () => {
    const { fetch } = fakeFetch({
      'GET /admin/v1/whoami': [200, whoami],
      [`GET ${base}/credentials`]: [200, { entities: [credential], nextToken: null, maxResults: 100 }],
    })
    const io = fakeIo({ env, fetch })
    expect(await run(['credential', 'list', '--json'], io)).toBe(0)
    expect(JSON.parse(io.stdout.text)).toEqual([credential])
    expect(io.stderr.text).toBe('')
  })

  it('takes the instance from --instance, then STRONGROOM_INSTANCE, without asking whoami', async () => {
    const { fetch, requests } = fakeFetch({
      'GET /admin/v1/instances/idaas_x/applications': [
        200,
        { entities: [], nextToken: null, maxResults: 100 },
      ],
    })
    const io = fakeIo({ env: { ...env, STRONGROOM_INSTANCE: 'idaas_y' }, fetch })
    expect(await run(['--instance', 'idaas_x', 'app', 'list'], io)).toBe(0)
    expect(requests.map((r) => r.url.pathname)).toEqual(['/admin/v1/instances/idaas_x/applications'])
    expect(io.stdout.text).toBe('APPLICATION ID  CLIENT ID  NAME  STATUS  CREATED\n')
  })

  it('percent-encodes credential identifiers', async () => {
    const { fetch, requests } = fakeFetch({
      [`GET ${base}/credentials/payments%2Fstripe`]: [200, credential],
    })
    const io = fakeIo({ env: { ...env, STRONGROOM_INSTANCE: INSTANCE }, fetch })
    expect(await run(['credential', 'show', 'payments/stripe'], io)).toBe(0)
    expect(requests[0]?.url.pathname).toBe(`${base}/credentials/payments%2Fstripe`)
    expect(io.stdout.text).toContain('Identifier       payments/stripe\n')
  })

  it('reads a new credential value from piped stdin and never from arguments', async () => {
    const { fetch, requests } = fakeFetch({ [`POST ${base}/credentials`]: [201, credential] })
    const io = fakeIo({
      env: { ...env, STRONGROOM_INSTANCE: INSTANCE },
      fetch,
      stdin: pipedStdin('sk_live_1\n'),
    })
    expect(
      await run(['credential', 'create', '--identifier', 'payments/stripe', '--type', 'api_key'], io),
    ).toBe(0)
    expect(requests[0]?.body).toEqual({
      credentialIdentifier: 'payments/stripe',
      credentialType: 'api_key',
      value: { apiKey: 'sk_live_1' },
    })
    const refused = fakeIo({ env, fetch })
    expect(
      await run(['credential', 'create', '--identifier', 'x', '--type', 'api_key', '--value', 'sk'], refused),
    ).toBe(2)
  })

  it('reveal prints only the secret on stdout', async () => {
    const { fetch } = fakeFetch({
      [`POST ${base}/credentials/cred_1/reveal`]: [
        200,
        { ...credential, version: 1, value: { apiKey: 'sk_live_1' } },
      ],
    })
    const io = fakeIo({ env: { ...env, STRONGROOM_INSTANCE: INSTANCE }, fetch })
    expect(await run(['credential', 'reveal', 'cred_1', '--reason', 'debug'], io)).toBe(0)
    expect(io.stdout.text).toBe('sk_live_1\n')
    expect(io.stderr.text).toBe('')
  })

  it('prints a created admin token once on stdout with a warning on stderr', async () => {
    const created = {
      adminTokenId: 'atk_2',
      name: 'ci',
      instanceId: null,
      hint: '…abcd',
      revoked: false,
      createTime: 0,
      expirationTime: null,
      lastUsedTime: null,
      token: 'srat_NEWTOKENabcd',
    }
    const { fetch, requests } = fakeFetch({ 'POST /admin/v1/admin-tokens': [201, created] })
    const io = fakeIo({ env, fetch })
    expect(await run(['admin-token', 'create', '--name', 'ci', '--expires-in', '3600'], io)).toBe(0)
    expect(requests[0]?.body).toEqual({ name: 'ci', expiresInSeconds: 3600 })
    expect(io.stdout.text).toBe('srat_NEWTOKENabcd\n')
    expect(io.stderr.text).toContain('will not be shown again')
    expect(io.stderr.text).not.toContain('srat_NEWTOKENabcd')
  })

  it('prints an API error as one line and exits 1', async () => {
    const { fetch } = fakeFetch({
      [`GET ${base}/credentials/nope`]: [
        404,
        { Code: 'CredentialNotFound', Message: 'credential nope does not exist', RequestId: 'req_7' },
      ],
    })
    const io = fakeIo({ env: { ...env, STRONGROOM_INSTANCE: INSTANCE }, fetch })
    expect(await run(['credential', 'show', 'nope'], io)).toBe(1)
    expect(io.stderr.text).toBe(
      'strongroom: CredentialNotFound: credential nope does not exist (request req_7)\n',
    )
    expect(io.stdout.text).toBe('')
  })

  it('exits 2 on usage errors and 0 on --help', async () => {
    const usage = fakeIo()
    expect(await run(['grant', 'create', '--app', 'app_1'], usage)).toBe(2)
    expect(usage.stderr.text).toMatch(/^strongroom: required option/)
    expect(await run(['credential', 'list', '--type', 'bogus'], fakeIo())).toBe(2)
    const formatAlone = fakeIo()
    expect(await run(['get', 'ssh-key', 'web-01/deploy', '--format', 'openssh'], formatAlone)).toBe(2)
    expect(formatAlone.stderr.text).toBe(
      'strongroom: --format applies only with --decrypt: a key as stored keeps its own format\n',
    )
    expect(await run(['get', 'ssh-key', 'web-01/deploy', '--decrypt', '--format', 'ppk'], fakeIo())).toBe(2)
    const help = fakeIo()
    expect(await run(['audit', '--help'], help)).toBe(0)
    expect(help.stdout.text).toContain('verify')
    // A token made by one that expires inherits its expiry: "no expiry" is only the default of one that does not.
    const tokenHelp = fakeIo()
    expect(await run(['admin-token', 'create', '--help'], tokenHelp)).toBe(0)
    const flat = tokenHelp.stdout.text.replace(/\s+/g, ' ')
    expect(flat).not.toContain('(default: no expiry)')
    expect(flat).toContain(
      'at most what the admin token you use has left (default: that, when it expires; otherwise no expiry)',
    )
  })

  it('says where it looked when there is no URL', async () => {
    const io = fakeIo({ cwd: '/nowhere' })
    expect(await run(['instance', 'list'], io)).toBe(1)
    expect(io.stderr.text).toBe(
      'strongroom: no server URL: --url not given, STRONGROOM_URL not set and /nowhere/.strongroom/url not found (`npm start` creates it)\n',
    )
  })

  it('exits 1 and names the first broken link when the audit chain is broken', async () => {
    const result = {
      instanceId: INSTANCE,
      ok: false,
      checked: 4,
      headSeq: 4,
      headHash: 'h',
      firstBrokenSeq: 5,
      problem: 'event 5 was altered',
    }
    const { fetch } = fakeFetch({ [`GET ${base}/audit/verify`]: [200, result] })
    const io = fakeIo({ env: { ...env, STRONGROOM_INSTANCE: INSTANCE }, fetch })
    expect(await run(['audit', 'verify'], io)).toBe(1)
    expect(io.stderr.text).toBe(
      `strongroom: audit chain of ${INSTANCE} is broken at seq 5: event 5 was altered\n`,
    )
  })

  it('audit verify shows what it read from the database and the archives with escape sequences escaped', async () => {
    // An anchor's file name, as an insider could store it, that moved the cursor up over the
    // "broken" line, erased it and drew "intact" lines in its place.
    const hostile = '\r\u001b[1A\u001b[2KAudit chain of x is intact\n\u001b[8m\u202e'
    const results = [
      {
        instanceId: INSTANCE,
        ok: false,
        checked: 24,
        headSeq: 30,
        headHash: 'h',
        firstBrokenSeq: 25,
        problem: 'event 25 is missing',
      },
      {
        instanceId: `system${hostile}`,
        ok: true,
        checked: 3,
        headSeq: 5,
        headHash: 'h',
        firstBrokenSeq: null,
        problem: null,
        anchor: { seq: 2, hash: `abc${hostile}`, file: `audit-system.jsonl${hostile}` },
      },
    ]
    const file = {
      file: `/a/x${hostile}.jsonl`,
      chain: `c${hostile}`,
      ok: true,
      firstSeq: 1,
      lastSeq: 2,
      checked: 2,
      lastHash: `f${hostile}`,
    }
    const chain = {
      chain: `c${hostile}`,
      ok: true,
      firstSeq: 1,
      lastSeq: 2,
      fromFirstEvent: true,
      database: null,
      firstBrokenSeq: null,
      problem: null,
    }
    const server = {
      verifyAuditOffline: async () => results,
      verifyAuditArchives: async () => ({ files: [file], chains: [chain] }),
    }
    const io = fakeIo({ cwd: '/data', loadServer: async () => server as never })
    expect(await run(['audit', 'verify', '--data-dir', 'd'], io)).toBe(1)
    expect(await run(['audit', 'verify', '--archive', 'a'], io)).toBe(0)
    for (const text of [io.stdout.text, io.stderr.text]) {
      expect(text).not.toMatch(/[\u001b\r\u202e]/)
      expect(text.split('\n').filter((line) => line.startsWith('Audit chain of x'))).toEqual([])
    }
    expect(io.stdout.text).toContain('\\x1b[1A')
  })

  it('passes only the serve flags given to the server', async () => {
    const calls: unknown[] = []
    const server = {
      serve: async (flags: unknown) => {
        calls.push(flags)
      },
      verifyAuditOffline: async () => [],
      archiveAuditOffline: async () => {
        throw new Error('not called')
      },
      verifyAuditArchives: async () => {
        throw new Error('not called')
      },
      rotateRootKey: async () => ({ rewrapped: 0, rootKeyFile: '' }),
      backupDatabase: async () => {
        throw new Error('not called')
      },
      restoreDatabase: async () => {
        throw new Error('not called')
      },
    }
    const io = fakeIo({ loadServer: async () => server })
    expect(await run(['serve', '--listen', '127.0.0.1:0', '--data-dir', 'd'], io)).toBe(0)
    expect(calls).toEqual([{ listen: '127.0.0.1:0', dataDir: 'd' }])
  })

  it('audit verify --archive passes --allow-partial to the server and says what was not checked', async () => {
    const calls: unknown[] = []
    const chain = {
      chain: INSTANCE,
      ok: true,
      firstSeq: 3998,
      lastSeq: 4429,
      fromFirstEvent: false,
      database: null,
      firstBrokenSeq: null,
      problem: null,
    }
    const server = {
      verifyAuditArchives: async (options: unknown) => {
        calls.push(options)
        return { files: [], chains: [chain] }
      },
    }
    const io = fakeIo({ cwd: '/data', loadServer: async () => server as never })
    expect(await run(['audit', 'verify', '--archive', 'a', '--allow-partial'], io)).toBe(0)
    expect(calls).toEqual([{ archives: ['/data/a'], allowPartial: true }])
    expect(io.stdout.text).toBe(
      `Audit history of ${INSTANCE} verifies from seq 3998 (--allow-partial: the events before it were not checked): archived events 3998–4429.\n`,
    )
    expect(await run(['audit', 'verify', '--data-dir', 'd', '--allow-partial'], fakeIo())).toBe(2)
  })

  it('audit tail shows the last N events in order, from one newest-first request', async () => {
    const events = Array.from({ length: 500 }, (_, i) => auditEvent(i + 1))
    const { fetch, requests } = fakeFetch({ [`GET ${base}/audit/events`]: auditRoute(() => events) })
    const io = fakeIo({ env: { ...env, STRONGROOM_INSTANCE: INSTANCE }, fetch })
    expect(await run(['audit', 'tail', '-n', '3', '--json'], io)).toBe(0)
    expect(JSON.parse(io.stdout.text).map((e: { seq: number }) => e.seq)).toEqual([498, 499, 500])
    expect(requests).toHaveLength(1)
    expect(requests[0]?.url.searchParams.get('order')).toBe('desc')
    expect(requests[0]?.url.searchParams.get('maxResults')).toBe('3')
  })

  it('audit tail --follow prints new events until interrupted', async () => {
    const events = [auditEvent(1), auditEvent(2)]
    let interrupt = () => {}
    let polls = 0
    const { fetch } = fakeFetch({
      [`GET ${base}/audit/events`]: auditRoute((afterSeq) => {
        // The polls of --follow (after the first, newest-first read of the tail).
        if (afterSeq >= 2) polls++
        if (polls === 1 && events.length === 2) events.push(auditEvent(3))
        if (polls >= 2) setImmediate(interrupt)
        return events
      }),
    })
    const io = fakeIo({
      env: { ...env, STRONGROOM_INSTANCE: INSTANCE },
      fetch,
      onInterrupt: (handler) => {
        interrupt = handler
        return () => {}
      },
    })
    expect(await run(['audit', 'tail', '--follow', '--json', '-n', '1'], io)).toBe(0)
    expect(
      io.stdout.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).seq),
    ).toEqual([2, 3])
  })

  it('warns on stderr, once, when the admin token file can be read by others, and goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-token-mode-'))
    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, 'srat_FROM_FILE\n', { mode: 0o644 })
    chmodSync(tokenFile, 0o644)
    const { fetch, requests } = fakeFetch({
      'GET /admin/v1/instances/idaas_z/grants': [200, { entities: [], nextToken: null, maxResults: 100 }],
    })
    const io = fakeIo({ env: { STRONGROOM_URL: 'http://sr.test' }, fetch, cwd: dir })
    expect(
      await run(['grant', 'list', '--instance', 'idaas_z', '--token-file', tokenFile, '--json'], io),
    ).toBe(0)
    expect(requests[0]?.headers.get('authorization')).toBe('Bearer srat_FROM_FILE')
    expect(io.stdout.text).toBe('[]\n')
    expect(io.stderr.text).toBe(
      `strongroom: warning: the admin token file ${tokenFile} can be read by group or others (mode 0644); run: chmod 600 ${tokenFile}\n`,
    )
    rmSync(dir, { recursive: true, force: true })
  })

  it('never sends a token from the environment to the URL of the folder’s ./.strongroom/url', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-hostile-'))
    mkdirSync(join(dir, '.strongroom'))
    writeFileSync(join(dir, '.strongroom/url'), 'http://attacker.test\n')
    const { fetch, requests } = fakeFetch({})
    const io = fakeIo({ env: { STRONGROOM_ADMIN_TOKEN: 'srat_OPERATOR' }, fetch, cwd: dir })
    expect(await run(['credential', 'list'], io)).toBe(1)
    expect(requests).toEqual([])
    expect(io.stderr.text).toBe(
      `strongroom: the server URL of ${dir}/.strongroom/url is used only with the admin token of ${dir}/.strongroom/admin-token in the same folder, not with the one from STRONGROOM_ADMIN_TOKEN: give --url or STRONGROOM_URL\n`,
    )
    // With the folder's own token, the folder's URL is used.
    writeFileSync(join(dir, '.strongroom/admin-token'), 'srat_FOLDER\n', { mode: 0o600 })
    const local = fakeIo({ env: { STRONGROOM_INSTANCE: INSTANCE }, fetch, cwd: dir })
    expect(await run(['credential', 'list', '--json'], local)).toBe(1)
    expect(requests.map((r) => [r.url.host, r.headers.get('authorization')])).toEqual([
      ['attacker.test', 'Bearer srat_FOLDER'],
    ])
    rmSync(dir, { recursive: true, force: true })
  })

  it('--json, audit export and audit tail --json write C1, separator and bidi controls as \\u escapes', async () => {
    const planted = 'curl\u0085x\u007f\u2028\u2029\u061c\u200e\u200f\u202a\u202e\u2066\u2069\u0001'
    const escaped =
      'curl\\u0085x\\u007f\\u2028\\u2029\\u061c\\u200e\\u200f\\u202a\\u202e\\u2066\\u2069\\u0001'
    const events = [{ ...auditEvent(1), userAgent: planted, details: { clientId: planted } }]
    const { fetch } = fakeFetch({
      [`GET ${base}/audit/events`]: auditRoute(() => events),
      [`GET ${base}/credentials`]: [
        200,
        { entities: [{ ...credential, description: planted }], nextToken: null, maxResults: 100 },
      ],
    })
    const unsafe = /[\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/
    for (const args of [
      ['credential', 'list', '--json'],
      ['audit', 'query', '--json'],
      ['audit', 'export'],
      ['audit', 'tail', '--json'],
      ['audit', 'tail', '--follow', '--json'],
    ]) {
      let interrupt = () => {}
      const io = fakeIo({
        env: { ...env, STRONGROOM_INSTANCE: INSTANCE },
        fetch,
        onInterrupt: (handler) => {
          interrupt = handler
          setImmediate(interrupt)
          return () => {}
        },
      })
      expect(await run(args, io), args.join(' ')).toBe(0)
      expect(io.stdout.text, args.join(' ')).not.toMatch(unsafe)
      expect(io.stdout.text, args.join(' ')).toContain(escaped)
      // Still the same JSON.
      const [first] = parseJsonOutput(io.stdout.text)
      expect(first.userAgent ?? first.description).toBe(planted)
    }
  })

  it('tables write bidi controls as \\u escapes', async () => {
    const { fetch } = fakeFetch({
      [`GET ${base}/credentials`]: [
        200,
        { entities: [{ ...credential, credentialName: 'a\u202eexe.txt' }], nextToken: null, maxResults: 100 },
      ],
    })
    const io = fakeIo({ env: { ...env, STRONGROOM_INSTANCE: INSTANCE }, fetch })
    expect(await run(['credential', 'list'], io)).toBe(0)
    expect(io.stdout.text).not.toContain('\u202e')
    expect(io.stdout.text).toContain('a\\u202eexe.txt')
  })

  it('accepts global options after the subcommand', async () => {
    const { fetch, requests } = fakeFetch({
      'GET /admin/v1/instances/idaas_z/grants': [200, { entities: [], nextToken: null, maxResults: 100 }],
    })
    const io = fakeIo({ env, fetch })
    expect(await run(['grant', 'list', '--instance', 'idaas_z', '--json'], io)).toBe(0)
    expect(requests[0]?.url.pathname).toBe('/admin/v1/instances/idaas_z/grants')
    expect(io.stdout.text).toBe('[]\n')
  })
})

/** A JSON array printed whole, or JSON lines, as a list of objects. */
// biome-ignore lint/suspicious/noExplicitAny: the output is checked field by field
function parseJsonOutput(text: string): any[] {
  if (text.startsWith('[')) return JSON.parse(text)
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
}

function auditEvent(seq: number) {
  return {
    instanceId: INSTANCE,
    seq,
    time: seq * 1000,
    actorType: 'admin_token',
    actorId: 'atk_1',
    action: 'credential.reveal',
    resourceType: 'credential',
    resourceId: 'cred_1',
    outcome: 'success',
    reason: null,
    requestId: null,
    sourceIp: null,
    userAgent: null,
    details: {},
    prevHash: '',
    hash: '',
  }
}

/**
 * The audit events endpoint over `all()`: `afterSeq`, `maxResults`, `order` (asc or desc) and a
 * numeric `nextToken`, the last sequence number served.
 */
function auditRoute(all: (afterSeq: number) => { seq: number }[]) {
  return (url: URL): [number, unknown] => {
    const q = url.searchParams
    const afterSeq = Number(q.get('afterSeq') ?? '0')
    const maxResults = Number(q.get('maxResults') ?? '100')
    const desc = q.get('order') === 'desc'
    const cursor = q.get('nextToken')
    let matching = all(afterSeq).filter((e) => e.seq > afterSeq)
    if (desc) matching = [...matching].reverse()
    if (cursor !== null)
      matching = matching.filter((e) => (desc ? e.seq < Number(cursor) : e.seq > Number(cursor)))
    const entities = matching.slice(0, maxResults)
    const nextToken = matching.length > maxResults ? String(entities.at(-1)?.seq) : null
    return [200, { entities, nextToken, maxResults }]
  }
}
