import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { parseStsDuration } from '../src/commands/cloud-account-input.js'
import { run } from '../src/program.js'
import { fakeFetch, fakeIo, fakeTerminal, pipedStdin } from './fake-io.js'

const INSTANCE = 'idaas_00000000000000000000000000'
const env = {
  STRONGROOM_URL: 'http://sr.test',
  STRONGROOM_ADMIN_TOKEN: 'srat_TOKEN',
  STRONGROOM_INSTANCE: INSTANCE,
}
const base = `/admin/v1/instances/${INSTANCE}/cloudAccounts`
const SECRET = 'ak-secret-unit-7f3a91c2'
const ARN = 'acs:ram::1234567890123456:role/ops-reader'
const ENCODED_ARN = 'acs%3Aram%3A%3A1234567890123456%3Arole%2Fops-reader'

const account = {
  cloudAccountId: 'ca_01jabcdefghjkmnpqrstvwxyz0',
  instanceId: INSTANCE,
  name: 'prod-ali',
  description: '',
  vendorType: 'alibaba_cloud',
  vendorAccountId: '1234567890123456',
  accessKeyIdHint: 'LTAI…WXYZ',
  stsEndpoint: null,
  region: null,
  status: 'enabled',
  keyVersion: 1,
  createTime: 0,
  updateTime: 0,
}
const role = {
  cloudAccountRoleId: 'car_01jabcdefghjkmnpqrstvwxyz0',
  cloudAccountId: account.cloudAccountId,
  instanceId: INSTANCE,
  roleExternalId: ARN,
  name: 'ops-reader',
  description: '',
  status: 'enabled',
  defaultDurationSeconds: 3600,
  maxDurationSeconds: 3600,
  sessionPolicy: null,
  externalId: null,
  createTime: 0,
  updateTime: 0,
}

const create = [
  'cloud-account',
  'create',
  '--name',
  'prod-ali',
  '--vendor',
  'alibaba_cloud',
  '--account-id',
  '1234567890123456',
  '--access-key-id',
  'LTAI5tABCDEFGWXYZ',
]

function tempFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'strongroom-cloud-account-')), 'file')
  writeFileSync(path, text, { mode: 0o600 })
  return path
}

/** A fake server that answers every cloud-account route with `account` or `role`. */
function server() {
  return fakeFetch({
    [`POST ${base}`]: [201, account],
    [`GET ${base}`]: (url) =>
      url.searchParams.get('nextToken') === null
        ? [200, { entities: [account], nextToken: 'page2', maxResults: 100 }]
        : [200, { entities: [{ ...account, name: 'prod-aws' }], nextToken: null, maxResults: 100 }],
    [`GET ${base}/prod-ali`]: [200, account],
    [`PATCH ${base}/prod-ali`]: [200, account],
    [`POST ${base}/prod-ali/keys`]: [201, { ...account, keyVersion: 2 }],
    [`POST ${base}/prod-ali/disable`]: [200, { ...account, status: 'disabled' }],
    [`POST ${base}/prod-ali/roles`]: [201, role],
    [`GET ${base}/prod-ali/roles`]: [200, { entities: [role], nextToken: null, maxResults: 100 }],
    [`GET ${base}/prod-ali/roles/${ENCODED_ARN}`]: [200, role],
    [`PATCH ${base}/prod-ali/roles/ops-reader`]: [200, role],
    [`DELETE ${base}/prod-ali/roles/ops-reader`]: [204, null],
    [`POST ${base}/prod-ali/roles/ops-reader/enable`]: [200, role],
  })
}

describe('parseStsDuration', () => {
  it('takes whole seconds from 900 to 43200', () => {
    expect(parseStsDuration('900')).toBe(900)
    expect(parseStsDuration('43200')).toBe(43_200)
    for (const text of ['100', '899', '43201', '3600.5', '1h', '-900', '', '9e2'])
      expect(() => parseStsDuration(text), text).toThrow(InvalidArgumentError)
  })
})

describe('cloud-account create and rotate-key', () => {
  it('reads the access key secret from piped stdin and never prints it', async () => {
    const { fetch, requests } = server()
    const io = fakeIo({ env, fetch, stdin: pipedStdin(`${SECRET}\n`) })
    expect(
      await run([...create, '--description', 'prod', '--sts-endpoint', 'https://sts.example.com'], io),
    ).toBe(0)
    expect(requests).toHaveLength(1)
    expect(requests[0]?.method).toBe('POST')
    expect(requests[0]?.url.pathname).toBe(base)
    expect(requests[0]?.body).toEqual({
      name: 'prod-ali',
      vendorType: 'alibaba_cloud',
      vendorAccountId: '1234567890123456',
      accessKeyId: 'LTAI5tABCDEFGWXYZ',
      accessKeySecret: SECRET,
      description: 'prod',
      stsEndpoint: 'https://sts.example.com',
    })
    expect(io.stdout.text).toMatch(/^Cloud account ID\s+ca_/m)
    expect(io.stdout.text).toMatch(/^Access key ID\s+LTAI…WXYZ$/m)
    expect(io.stdout.text).toMatch(/^STS endpoint\s+the vendor's default$/m)
    expect(io.stdout.text + io.stderr.text).not.toContain(SECRET)
  })

  it('reads the secret from --access-key-secret-file, a path or - for stdin', async () => {
    const fromFile = server()
    const io = fakeIo({ env, fetch: fromFile.fetch })
    expect(await run([...create, '--access-key-secret-file', tempFile(`${SECRET}\r\n`), '--json'], io)).toBe(
      0,
    )
    expect(fromFile.requests[0]?.body).toMatchObject({ accessKeySecret: SECRET })
    expect(JSON.parse(io.stdout.text)).toEqual(account)

    const dash = server()
    const stdin = fakeTerminal()
    stdin.end(SECRET)
    expect(
      await run([...create, '--access-key-secret-file', '-'], fakeIo({ env, fetch: dash.fetch, stdin })),
    ).toBe(0)
    expect(dash.requests[0]?.body).toMatchObject({ accessKeySecret: SECRET })
    expect(stdin.rawModes).toEqual([])
  })

  it('asks for the secret with a hidden prompt on a terminal', async () => {
    const { fetch, requests } = server()
    const stdin = fakeTerminal()
    const io = fakeIo({ env, fetch, stdin })
    const done = run(create, io)
    setTimeout(() => stdin.write(`${SECRET}\r`), 10)
    expect(await done).toBe(0)
    expect(io.stderr.text).toBe('Access key secret: \n')
    expect(stdin.rawModes).toEqual([true, false])
    expect(requests[0]?.body).toMatchObject({ accessKeySecret: SECRET })
  })

  it('never takes the secret as an argument, and hides a value passed so', async () => {
    const { fetch, requests } = server()
    const io = fakeIo({ env, fetch, stdin: pipedStdin(SECRET) })
    expect(await run([...create, `--access-key-secret=${SECRET}`], io)).toBe(2)
    expect(io.stderr.text).toContain("'--access-key-secret=…'")
    expect(io.stderr.text).not.toContain(SECRET)
    const spaced = fakeIo({ env, fetch, stdin: pipedStdin(SECRET) })
    expect(await run([...create, '--access-key-secret', SECRET], spaced)).toBe(2)
    expect(requests).toHaveLength(0)
  })

  it('refuses missing and unknown options before reading or sending anything', async () => {
    const { fetch, requests } = server()
    const noVendor = fakeIo({ env, fetch })
    expect(
      await run(
        create.filter((a) => a !== '--vendor' && a !== 'alibaba_cloud'),
        noVendor,
      ),
    ).toBe(2)
    expect(noVendor.stderr.text).toMatch(/^strongroom: required option '--vendor <vendor>'/)
    const badVendor = fakeIo({ env, fetch })
    expect(
      await run(
        create.map((a) => (a === 'alibaba_cloud' ? 'gcp' : a)),
        badVendor,
      ),
    ).toBe(2)
    expect(badVendor.stderr.text).toContain('alibaba_cloud, aws')
    const noKey = fakeIo({ env, fetch })
    expect(await run(create.slice(0, -2), noKey)).toBe(2)
    expect(noKey.stderr.text).toContain('--access-key-id')
    expect(requests).toHaveLength(0)
  })

  it('refuses an empty secret and an unreadable file, naming the file, not a value', async () => {
    const { fetch, requests } = server()
    const empty = fakeIo({ env, fetch, stdin: pipedStdin('\n') })
    expect(await run(create, empty)).toBe(1)
    expect(empty.stderr.text).toBe('strongroom: the access key secret is empty\n')
    const missing = fakeIo({ env, fetch })
    expect(await run([...create, '--access-key-secret-file', '/nonexistent/secret'], missing)).toBe(1)
    expect(missing.stderr.text).toBe(
      'strongroom: cannot read --access-key-secret-file /nonexistent/secret: ENOENT\n',
    )
    expect(requests).toHaveLength(0)
  })

  it('prints the server’s error as one line with its code, the secret redacted', async () => {
    const { fetch } = fakeFetch({
      [`POST ${base}`]: [
        400,
        {
          Code: 'InvalidParameter',
          Message: `accessKeySecret ${SECRET} is wrong`,
          RequestId: 'req_1',
          field: 'accessKeySecret',
        },
      ],
    })
    const io = fakeIo({ env, fetch, stdin: pipedStdin(SECRET) })
    expect(await run(create, io)).toBe(1)
    expect(io.stderr.text).toBe(
      'strongroom: InvalidParameter: accessKeySecret [redacted] is wrong (field accessKeySecret, request req_1)\n',
    )
  })

  it('rotate-key posts the new pair to /keys', async () => {
    const { fetch, requests } = server()
    const io = fakeIo({ env, fetch, stdin: pipedStdin(`${SECRET}\n`) })
    expect(
      await run(['cloud-account', 'rotate-key', 'prod-ali', '--access-key-id', 'LTAI5tNEWKEY0001'], io),
    ).toBe(0)
    expect(requests[0]?.url.pathname).toBe(`${base}/prod-ali/keys`)
    expect(requests[0]?.body).toEqual({ accessKeyId: 'LTAI5tNEWKEY0001', accessKeySecret: SECRET })
    expect(io.stdout.text).toMatch(/^Key version\s+2$/m)
    expect(io.stdout.text + io.stderr.text).not.toContain(SECRET)
    const noId = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'rotate-key', 'prod-ali'], noId)).toBe(2)
  })

  it('has no reveal', async () => {
    const io = fakeIo({ env })
    expect(await run(['cloud-account', 'reveal', 'prod-ali'], io)).toBe(2)
    expect(io.stderr.text).toContain("unknown command 'reveal'")
  })
})

describe('cloud-account list, show, update, disable', () => {
  it('lists every page, as one JSON array or a table', async () => {
    const { fetch, requests } = server()
    const json = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'list', '--prefix', 'prod-', '--json'], json)).toBe(0)
    expect(JSON.parse(json.stdout.text).map((a: { name: string }) => a.name)).toEqual([
      'prod-ali',
      'prod-aws',
    ])
    expect(requests[0]?.url.searchParams.get('namePrefix')).toBe('prod-')
    expect(requests[1]?.url.searchParams.get('nextToken')).toBe('page2')
    const table = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'list'], table)).toBe(0)
    const lines = table.stdout.text.trimEnd().split('\n')
    expect(lines[0]).toMatch(
      /^CLOUD ACCOUNT ID\s+NAME\s+VENDOR\s+VENDOR ACCOUNT\s+ACCESS KEY\s+KEY VERSION\s+STATUS\s+UPDATED$/,
    )
    expect(lines).toHaveLength(3)
    expect(lines[1]).toMatch(/prod-ali\s+alibaba_cloud\s+1234567890123456\s+LTAI…WXYZ\s+1\s+enabled\s/)
  })

  it('update sends only what was given; the defaults as null', async () => {
    const { fetch, requests } = server()
    const cases: [string[], unknown][] = [
      [['--description', 'd'], { description: 'd' }],
      [
        ['--sts-endpoint', 'https://sts.example.com', '--region', 'cn-hangzhou'],
        { stsEndpoint: 'https://sts.example.com', region: 'cn-hangzhou' },
      ],
      [['--default-sts-endpoint', '--no-region'], { stsEndpoint: null, region: null }],
    ]
    for (const [args, body] of cases) {
      expect(await run(['cloud-account', 'update', 'prod-ali', ...args], fakeIo({ env, fetch }))).toBe(0)
      expect(requests.at(-1)?.method).toBe('PATCH')
      expect(requests.at(-1)?.body).toEqual(body)
    }
    const nothing = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'update', 'prod-ali'], nothing)).toBe(2)
    expect(nothing.stderr.text).toContain('cloud-account update needs --description')
    const both = fakeIo({ env, fetch })
    expect(
      await run(
        [
          'cloud-account',
          'update',
          'prod-ali',
          '--sts-endpoint',
          'https://x.example',
          '--default-sts-endpoint',
        ],
        both,
      ),
    ).toBe(2)
    expect(requests).toHaveLength(cases.length)
  })

  it('disable posts to the action and shows the account', async () => {
    const { fetch, requests } = server()
    const io = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'disable', 'prod-ali'], io)).toBe(0)
    expect(requests[0]?.url.pathname).toBe(`${base}/prod-ali/disable`)
    expect(requests[0]?.body).toEqual({})
    expect(io.stdout.text).toMatch(/^Status\s+disabled$/m)
  })
})

describe('cloud-account role', () => {
  it('add sends the ARN and the options given', async () => {
    const { fetch, requests } = server()
    const policy = tempFile('{"Version": "1",\n "Statement": []}\n\n')
    const io = fakeIo({ env, fetch })
    const args = ['cloud-account', 'role', 'add', 'prod-ali', '--arn', ARN, '--name', 'reader']
    const options = ['--default-duration', '900', '--max-duration', '43200', '--session-policy-file', policy]
    expect(await run([...args, ...options, '--external-id', 'ext-1', '--description', 'd'], io)).toBe(0)
    expect(requests[0]?.url.pathname).toBe(`${base}/prod-ali/roles`)
    expect(requests[0]?.body).toEqual({
      roleExternalId: ARN,
      name: 'reader',
      description: 'd',
      defaultDurationSeconds: 900,
      maxDurationSeconds: 43_200,
      sessionPolicy: '{"Version": "1",\n "Statement": []}',
      externalId: 'ext-1',
    })
    expect(io.stdout.text).toMatch(/^ARN\s+acs:ram::1234567890123456:role\/ops-reader$/m)
    expect(io.stdout.text).toMatch(/^Default duration\s+3600 s$/m)
  })

  it('add reads the session policy from stdin with -', async () => {
    const { fetch, requests } = server()
    const io = fakeIo({ env, fetch, stdin: pipedStdin('{"Statement":[]}\n') })
    expect(
      await run(['cloud-account', 'role', 'add', 'prod-ali', '--arn', ARN, '--session-policy-file', '-'], io),
    ).toBe(0)
    expect(requests[0]?.body).toEqual({ roleExternalId: ARN, sessionPolicy: '{"Statement":[]}' })
  })

  it('refuses durations out of 900–43200, naming the option, before sending', async () => {
    const { fetch, requests } = server()
    const add = ['cloud-account', 'role', 'add', 'prod-ali', '--arn', ARN]
    for (const [option, value] of [
      ['--default-duration', '100'],
      ['--max-duration', '43201'],
      ['--default-duration', '1h'],
    ] as const) {
      const io = fakeIo({ env, fetch })
      expect(await run([...add, option, value], io)).toBe(2)
      expect(io.stderr.text).toBe(
        `strongroom: option '${option} <seconds>' argument '${value}' is invalid. expected whole seconds from 900 to 43200 (15 minutes to 12 hours)\n`,
      )
    }
    const upside = fakeIo({ env, fetch })
    expect(await run([...add, '--default-duration', '7200', '--max-duration', '3600'], upside)).toBe(2)
    expect(upside.stderr.text).toBe(
      'strongroom: --default-duration (7200) must be at most --max-duration (3600)\n',
    )
    const update = fakeIo({ env, fetch })
    expect(
      await run(
        ['cloud-account', 'role', 'update', 'prod-ali', 'ops-reader', '--max-duration', '60'],
        update,
      ),
    ).toBe(2)
    expect(update.stderr.text).toContain("'--max-duration <seconds>' argument '60' is invalid")
    const noArn = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'role', 'add', 'prod-ali'], noArn)).toBe(2)
    expect(noArn.stderr.text).toContain("required option '--arn <arn>'")
    expect(requests).toHaveLength(0)
  })

  it('show percent-encodes an ARN; list prints a table', async () => {
    const { fetch, requests } = server()
    const io = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'role', 'show', 'prod-ali', ARN], io)).toBe(0)
    expect(requests[0]?.url.pathname).toBe(`${base}/prod-ali/roles/${ENCODED_ARN}`)
    expect(io.stdout.text).toMatch(/^Role ID\s+car_/m)
    const list = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'role', 'list', 'prod-ali'], list)).toBe(0)
    const lines = list.stdout.text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ROLE ID\s+NAME\s+STATUS\s+DEFAULT\s+MAX\s+POLICY\s+ARN$/)
    expect(lines[1]).toMatch(/ops-reader\s+enabled\s+3600 s\s+3600 s\s+no\s+acs:ram::/)
  })

  it('update sends only what was given; --no-… as null', async () => {
    const { fetch, requests } = server()
    const update = ['cloud-account', 'role', 'update', 'prod-ali', 'ops-reader']
    const cases: [string[], unknown][] = [
      [['--name', 'reader', '--max-duration', '7200'], { name: 'reader', maxDurationSeconds: 7200 }],
      [['--no-session-policy', '--no-external-id'], { sessionPolicy: null, externalId: null }],
      [
        ['--external-id', 'ext-2', '--session-policy-file', tempFile('{}')],
        { externalId: 'ext-2', sessionPolicy: '{}' },
      ],
      [['--description', ''], { description: '' }],
    ]
    for (const [args, body] of cases) {
      const io = fakeIo({ env, fetch })
      expect(await run([...update, ...args], io), io.stderr.text).toBe(0)
      expect(requests.at(-1)?.method).toBe('PATCH')
      expect(requests.at(-1)?.body).toEqual(body)
    }
    const nothing = fakeIo({ env, fetch })
    expect(await run(update, nothing)).toBe(2)
    expect(nothing.stderr.text).toContain('cloud-account role update needs --name')
    const both = fakeIo({ env, fetch })
    expect(await run([...update, '--no-session-policy', '--session-policy-file', '-'], both)).toBe(2)
    const empty = fakeIo({ env, fetch })
    const emptyFile = tempFile('\n')
    expect(await run([...update, '--session-policy-file', emptyFile], empty)).toBe(1)
    expect(empty.stderr.text).toBe(`strongroom: --session-policy-file ${emptyFile} is empty\n`)
    expect(requests).toHaveLength(cases.length)
  })

  it('remove deletes and says so; enable posts to the action', async () => {
    const { fetch, requests } = server()
    const human = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'role', 'remove', 'prod-ali', 'ops-reader'], human)).toBe(0)
    expect(requests[0]?.method).toBe('DELETE')
    expect(human.stdout.text).toBe('Removed role ops-reader of cloud account prod-ali.\n')
    const json = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'role', 'remove', 'prod-ali', 'ops-reader', '--json'], json)).toBe(0)
    expect(JSON.parse(json.stdout.text)).toEqual({
      cloudAccount: 'prod-ali',
      role: 'ops-reader',
      removed: true,
    })
    const enable = fakeIo({ env, fetch })
    expect(await run(['cloud-account', 'role', 'enable', 'prod-ali', 'ops-reader', '--json'], enable)).toBe(0)
    expect(requests.at(-1)?.url.pathname).toBe(`${base}/prod-ali/roles/ops-reader/enable`)
    expect(JSON.parse(enable.stdout.text)).toEqual(role)
  })
})
