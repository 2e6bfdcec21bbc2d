import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, type ServerProcess, startServer } from '../support/server-process.js'
import { cli } from './cli.js'

// Canaries: each access key secret is looked for in everything the CLI printed, the server logged
// and the audit log holds. None of them may appear anywhere.
const ALI_SECRET = 'ali-canary-secret-5e1f0c9b7a'
const AWS_SECRET = 'aws/canary+secret-2d8c41f7e3'
const ROTATED = 'ali-canary-rotated-94b3de6a10'
const SPACED = 'bad canary 7c2e with spaces'
const REFUSED = 'refused-canary-secret-a83f5d'
const SECRETS = [ALI_SECRET, AWS_SECRET, ROTATED, SPACED, REFUSED]

const ALI_UID = '1234567890123456'
const AWS_ACCOUNT = '123456789012'
const ALI_ARN = `acs:ram::${ALI_UID}:role/ops-reader`
const AWS_ARN = `arn:aws:iam::${AWS_ACCOUNT}:role/team/deployer`
const POLICY =
  '{\n  "Version": "1",\n  "Statement": [{ "Effect": "Allow", "Action": "oss:GetObject", "Resource": "*" }]\n}\n'

describe('strongroom cloud-account …', () => {
  let server: ServerProcess
  let dir: string
  const printed: string[] = []
  const path = (name: string) => join(dir, name)

  /** Runs the CLI and keeps everything it printed, to look for the secrets afterwards. */
  const run = async (args: string[], input?: string): Promise<CliResult> => {
    const r = await cli(server, args, input)
    printed.push(r.stdout, r.stderr)
    return r
  }
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await run(args, input)
    expect(r.code, `strongroom ${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0)
    return r.stdout
  }
  // biome-ignore lint/suspicious/noExplicitAny: command output is checked field by field by the assertions
  const okJson = async <T = any>(args: string[], input?: string): Promise<T> =>
    JSON.parse(await ok([...args, '--json'], input)) as T
  /** A failure: its exit code and one `strongroom: …` line on stderr, nothing on stdout. */
  const fails = async (code: number, args: string[], input?: string): Promise<string> => {
    const r = await run(args, input)
    expect(r.code, `strongroom ${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(code)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^strongroom: [^\n]+\n$/)
    return r.stderr
  }

  beforeAll(async () => {
    server = await startServer()
    dir = await mkdtemp(join(tmpdir(), 'strongroom-cloud-account-cli-'))
    await writeFile(path('aws-secret'), `${AWS_SECRET}\n`, { mode: 0o600 })
    await writeFile(path('rotated'), ROTATED, { mode: 0o600 })
    await writeFile(path('policy.json'), POLICY)
    await writeFile(path('not-json'), 'Allow everything\n')
  })
  afterAll(async () => {
    // Whatever happened, no secret may be in what was printed or logged.
    const everything = [...printed, server?.logs() ?? ''].join('\n')
    for (const secret of SECRETS) expect(everything).not.toContain(secret)
    await server?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('creates, lists, shows, updates, rotates, disables and enables cloud accounts', async () => {
    const before = await okJson<unknown[]>(['cloud-account', 'list'])

    // Alibaba Cloud, the secret on stdin, the human view: the key id's hint, never the secret.
    const shown = await ok(
      [
        'cloud-account',
        'create',
        '--name',
        'prod-ali',
        '--vendor',
        'alibaba_cloud',
        '--account-id',
        ALI_UID,
        '--access-key-id',
        'LTAI5tFirstKeyAB12',
        '--description',
        'production',
      ],
      `${ALI_SECRET}\n`,
    )
    expect(shown).toMatch(/^Cloud account ID\s+ca_[0-9a-z]{26}$/m)
    expect(shown).toMatch(/^Name\s+prod-ali$/m)
    expect(shown).toMatch(/^Description\s+production$/m)
    expect(shown).toMatch(/^Vendor\s+alibaba_cloud$/m)
    expect(shown).toMatch(new RegExp(`^Vendor account ID\\s+${ALI_UID}$`, 'm'))
    expect(shown).toMatch(/^Access key ID\s+LTAI…AB12$/m)
    expect(shown).toMatch(/^Key version\s+1$/m)
    expect(shown).toMatch(/^STS endpoint\s+the vendor's default$/m)
    expect(shown).toMatch(/^Region$/m)
    expect(shown).toMatch(/^Status\s+enabled$/m)
    expect(shown).not.toContain('LTAI5tFirstKeyAB12')

    // AWS, the secret from a file, with a region and a loopback STS endpoint.
    const aws = await okJson([
      'cloud-account',
      'create',
      '--name',
      'prod-aws',
      '--vendor',
      'aws',
      '--account-id',
      AWS_ACCOUNT,
      '--access-key-id',
      'AKIAEXAMPLEKEY0001',
      '--access-key-secret-file',
      path('aws-secret'),
      '--region',
      'eu-west-1',
      '--sts-endpoint',
      'http://127.0.0.1:9',
    ])
    expect(aws).toMatchObject({
      name: 'prod-aws',
      description: '',
      vendorType: 'aws',
      vendorAccountId: AWS_ACCOUNT,
      accessKeyIdHint: 'AKIA…0001',
      stsEndpoint: 'http://127.0.0.1:9',
      region: 'eu-west-1',
      status: 'enabled',
      keyVersion: 1,
    })
    expect(aws.cloudAccountId).toMatch(/^ca_[0-9a-z]{26}$/)
    expect(Object.keys(aws).sort()).toEqual(
      [
        'accessKeyIdHint',
        'cloudAccountId',
        'createTime',
        'description',
        'instanceId',
        'keyVersion',
        'name',
        'region',
        'status',
        'stsEndpoint',
        'updateTime',
        'vendorAccountId',
        'vendorType',
      ].sort(),
    )

    // A third, its secret from --access-key-secret-file - (stdin).
    const staging = await okJson(
      [
        'cloud-account',
        'create',
        '--name',
        'staging-aws',
        '--vendor',
        'aws',
        '--account-id',
        '210987654321',
        '--access-key-id',
        'AKIASTAGINGKEY0002',
        '--access-key-secret-file',
        '-',
      ],
      AWS_SECRET,
    )
    expect(staging).toMatchObject({ name: 'staging-aws', accessKeyIdHint: 'AKIA…0002' })

    // list: every page as one JSON array, by prefix, capped, and as a table.
    const all = await okJson<{ name: string }[]>(['cloud-account', 'list'])
    expect(all).toHaveLength(before.length + 3)
    expect(all.slice(-3).map((a) => a.name)).toEqual(['prod-ali', 'prod-aws', 'staging-aws'])
    const prod = await okJson<{ name: string }[]>(['cloud-account', 'list', '--prefix', 'prod-'])
    expect(prod.map((a) => a.name)).toEqual(['prod-ali', 'prod-aws'])
    expect(await okJson(['cloud-account', 'list', '--prefix', 'prod-', '--limit', '1'])).toHaveLength(1)
    const table = (await ok(['cloud-account', 'list'])).trimEnd().split('\n')
    expect(table[0]).toMatch(
      /^CLOUD ACCOUNT ID\s+NAME\s+VENDOR\s+VENDOR ACCOUNT\s+ACCESS KEY\s+KEY VERSION\s+STATUS\s+UPDATED$/,
    )
    expect(table).toHaveLength(1 + all.length)
    expect(table.find((line) => line.includes('prod-aws'))).toMatch(
      new RegExp(`\\saws\\s+${AWS_ACCOUNT}\\s+AKIA…0001\\s+1\\s+enabled\\s`),
    )

    // show, by name and by id.
    const byName = await okJson(['cloud-account', 'show', 'prod-ali'])
    expect(await okJson(['cloud-account', 'show', byName.cloudAccountId])).toEqual(byName)

    // update: the description; an endpoint and a region; back to the vendor's defaults.
    expect(await okJson(['cloud-account', 'update', 'prod-ali', '--description', 'prod (cn)'])).toMatchObject(
      {
        description: 'prod (cn)',
        stsEndpoint: null,
        region: null,
      },
    )
    const regional = await ok([
      'cloud-account',
      'update',
      byName.cloudAccountId,
      '--sts-endpoint',
      'https://sts.cn-hangzhou.aliyuncs.com',
      '--region',
      'cn-hangzhou',
    ])
    expect(regional).toMatch(/^STS endpoint\s+https:\/\/sts\.cn-hangzhou\.aliyuncs\.com$/m)
    expect(regional).toMatch(/^Region\s+cn-hangzhou$/m)
    expect(
      await okJson(['cloud-account', 'update', 'prod-ali', '--default-sts-endpoint', '--no-region']),
    ).toMatchObject({ description: 'prod (cn)', stsEndpoint: null, region: null })

    // rotate-key: a new version, a new hint; the secret from a file without a newline.
    const rotated = await okJson([
      'cloud-account',
      'rotate-key',
      'prod-ali',
      '--access-key-id',
      'LTAI5tSecondKeyCD34',
      '--access-key-secret-file',
      path('rotated'),
    ])
    expect(rotated).toMatchObject({
      cloudAccountId: byName.cloudAccountId,
      keyVersion: 2,
      accessKeyIdHint: 'LTAI…CD34',
    })
    expect(rotated.accessKeyIdHint).not.toBe(byName.accessKeyIdHint)
    expect(await okJson(['cloud-account', 'show', 'prod-ali'])).toMatchObject({ keyVersion: 2 })

    // disable / enable, by name and by id.
    expect(await okJson(['cloud-account', 'disable', 'prod-aws'])).toMatchObject({ status: 'disabled' })
    expect(await okJson(['cloud-account', 'show', 'prod-aws'])).toMatchObject({ status: 'disabled' })
    expect(await ok(['cloud-account', 'enable', aws.cloudAccountId])).toMatch(/^Status\s+enabled$/m)
  }, 120_000)

  it('adds, lists, shows, updates, disables, enables and removes roles; grants name them by ARN', async () => {
    // Alibaba Cloud: the name comes from the ARN, the defaults from the server.
    const ali = await okJson(['cloud-account', 'role', 'add', 'prod-ali', '--arn', ALI_ARN])
    expect(ali).toMatchObject({
      roleExternalId: ALI_ARN,
      name: 'ops-reader',
      description: '',
      status: 'enabled',
      defaultDurationSeconds: 3600,
      maxDurationSeconds: 3600,
      sessionPolicy: null,
      externalId: null,
    })
    expect(ali.cloudAccountRoleId).toMatch(/^car_[0-9a-z]{26}$/)

    // AWS: a path in the ARN, a name, durations, a session policy and an ExternalId.
    const human = await ok([
      'cloud-account',
      'role',
      'add',
      'prod-aws',
      '--arn',
      AWS_ARN,
      '--name',
      'deploy',
      '--description',
      'CI deploys',
      '--default-duration',
      '900',
      '--max-duration',
      '43200',
      '--session-policy-file',
      path('policy.json'),
      '--external-id',
      'strongroom-ext-1',
    ])
    expect(human).toMatch(/^Role ID\s+car_[0-9a-z]{26}$/m)
    expect(human).toMatch(/^Name\s+deploy$/m)
    expect(human).toMatch(new RegExp(`^ARN\\s+${AWS_ARN.replaceAll('/', '\\/')}$`, 'm'))
    expect(human).toMatch(/^Default duration\s+900 s$/m)
    expect(human).toMatch(/^Max duration\s+43200 s$/m)
    expect(human).toMatch(/^Session policy\s+\{"Version":"1","Statement":\[/m)
    expect(human).toMatch(/^External ID\s+strongroom-ext-1$/m)

    // show by id, by name and by ARN (percent-encoded in the path); list.
    const aws = await okJson(['cloud-account', 'role', 'show', 'prod-aws', 'deploy'])
    expect(aws).toMatchObject({
      roleExternalId: AWS_ARN,
      description: 'CI deploys',
      sessionPolicy: POLICY.trimEnd(),
      externalId: 'strongroom-ext-1',
    })
    expect(await okJson(['cloud-account', 'role', 'show', 'prod-aws', aws.cloudAccountRoleId])).toEqual(aws)
    expect(await okJson(['cloud-account', 'role', 'show', 'prod-aws', AWS_ARN])).toEqual(aws)
    expect(await okJson(['cloud-account', 'role', 'show', 'prod-ali', ALI_ARN])).toEqual(ali)
    expect(await okJson(['cloud-account', 'role', 'list', 'prod-aws'])).toEqual([aws])
    const table = (await ok(['cloud-account', 'role', 'list', 'prod-ali'])).trimEnd().split('\n')
    expect(table[0]).toMatch(/^ROLE ID\s+NAME\s+STATUS\s+DEFAULT\s+MAX\s+POLICY\s+ARN$/)
    expect(table[1]).toMatch(
      /ops-reader\s+enabled\s+3600 s\s+3600 s\s+no\s+acs:ram::1234567890123456:role\/ops-reader$/,
    )
    expect(await okJson(['cloud-account', 'role', 'list', 'staging-aws'])).toEqual([])

    // update: name and durations; policy and ExternalId replaced, then removed.
    expect(
      await okJson([
        'cloud-account',
        'role',
        'update',
        'prod-ali',
        ALI_ARN,
        '--name',
        'reader',
        '--default-duration',
        '7200',
        '--max-duration',
        '7200',
      ]),
    ).toMatchObject({ name: 'reader', defaultDurationSeconds: 7200, maxDurationSeconds: 7200 })
    expect(
      await okJson(
        [
          'cloud-account',
          'role',
          'update',
          'prod-aws',
          'deploy',
          '--session-policy-file',
          '-',
          '--external-id',
          'ext-2',
        ],
        '{"Version":"2012-10-17","Statement":[]}\n',
      ),
    ).toMatchObject({ sessionPolicy: '{"Version":"2012-10-17","Statement":[]}', externalId: 'ext-2' })
    expect(
      await okJson([
        'cloud-account',
        'role',
        'update',
        'prod-aws',
        aws.cloudAccountRoleId,
        '--no-session-policy',
        '--no-external-id',
        '--description',
        'deploys',
      ]),
    ).toMatchObject({ sessionPolicy: null, externalId: null, description: 'deploys', name: 'deploy' })

    // disable / enable.
    expect(await okJson(['cloud-account', 'role', 'disable', 'prod-ali', 'reader'])).toMatchObject({
      status: 'disabled',
    })
    expect(await ok(['cloud-account', 'role', 'enable', 'prod-ali', ali.cloudAccountRoleId])).toMatch(
      /^Status\s+enabled$/m,
    )

    // A workload is granted a role by its ARN.
    const app = await okJson(['app', 'create', '--name', 'cloud-workload'])
    const grant = await okJson([
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'cloud_account_role',
      '--resource',
      ALI_ARN,
      '--actions',
      'obtain',
    ])
    expect(grant).toMatchObject({
      resourceType: 'cloud_account_role',
      resourceMatch: 'exact',
      resource: ALI_ARN,
      actions: ['obtain'],
    })

    // remove, by ARN and by name; then the role is gone.
    expect(await ok(['cloud-account', 'role', 'remove', 'prod-ali', ALI_ARN])).toBe(
      `Removed role ${ALI_ARN} of cloud account prod-ali.\n`,
    )
    expect(await okJson(['cloud-account', 'role', 'remove', 'prod-aws', 'deploy'])).toEqual({
      cloudAccount: 'prod-aws',
      role: 'deploy',
      removed: true,
    })
    expect(await fails(1, ['cloud-account', 'role', 'show', 'prod-ali', ali.cloudAccountRoleId])).toContain(
      'CloudAccountRoleNotFound',
    )
    expect(await okJson(['cloud-account', 'role', 'list', 'prod-ali'])).toEqual([])
  }, 120_000)

  it('refuses bad input with one line naming the field or the option', async () => {
    const aliRoles = await okJson<unknown[]>(['cloud-account', 'role', 'list', 'prod-ali'])
    const accounts = await okJson<unknown[]>(['cloud-account', 'list'])
    const add = ['cloud-account', 'role', 'add', 'prod-ali']
    const createAws = [
      'cloud-account',
      'create',
      '--name',
      'bad-aws',
      '--vendor',
      'aws',
      '--account-id',
      AWS_ACCOUNT,
      '--access-key-id',
      'AKIABADKEY00000001',
    ]

    // An ARN of another account, or of the other vendor.
    const otherAccount = await fails(1, [...add, '--arn', 'acs:ram::999999999:role/ops'])
    expect(otherAccount).toMatch(/^strongroom: InvalidParameter\.RoleExternalId: .*field roleExternalId/)
    expect(otherAccount).toContain(`must name a role of account ${ALI_UID}`)
    expect(await fails(1, [...add, '--arn', `arn:aws:iam::${AWS_ACCOUNT}:role/x`])).toContain(
      'field roleExternalId',
    )
    // Durations out of 900–43200: usage errors, nothing sent.
    expect(await fails(2, [...add, '--arn', ALI_ARN, '--default-duration', '100'])).toBe(
      "strongroom: option '--default-duration <seconds>' argument '100' is invalid. expected whole seconds from 900 to 43200 (15 minutes to 12 hours)\n",
    )
    expect(await fails(2, [...add, '--arn', ALI_ARN, '--max-duration', '86400'])).toContain(
      "'--max-duration <seconds>'",
    )
    expect(
      await fails(2, [...add, '--arn', ALI_ARN, '--default-duration', '7200', '--max-duration', '3600']),
    ).toBe('strongroom: --default-duration (7200) must be at most --max-duration (3600)\n')
    // The server's own checks: ExternalId is AWS's; a session policy is JSON.
    expect(await fails(1, [...add, '--arn', ALI_ARN, '--external-id', 'ext-1'])).toContain('field externalId')
    expect(await fails(1, [...add, '--arn', ALI_ARN, '--session-policy-file', path('not-json')])).toContain(
      'field sessionPolicy',
    )
    expect(await fails(1, [...add, '--arn', ALI_ARN, '--session-policy-file', path('missing')])).toBe(
      `strongroom: cannot read --session-policy-file ${path('missing')}: ENOENT\n`,
    )
    expect(await fails(2, ['cloud-account', 'role', 'update', 'prod-ali', 'nobody'])).toContain(
      'cloud-account role update needs',
    )

    // An STS endpoint without https, an AWS account id that is not 12 digits, a taken name.
    const http = await fails(1, [...createAws, '--sts-endpoint', 'http://sts.example.com'], REFUSED)
    expect(http).toMatch(/^strongroom: InvalidParameter: .*field stsEndpoint/)
    expect(http).toContain('https')
    expect(
      await fails(1, ['cloud-account', 'update', 'prod-aws', '--sts-endpoint', 'http://sts.example.com']),
    ).toContain('field stsEndpoint')
    expect(
      await fails(
        1,
        createAws.map((a) => (a === AWS_ACCOUNT ? '12345' : a)),
        REFUSED,
      ),
    ).toContain('field vendorAccountId')
    expect(
      await fails(
        1,
        createAws.map((a) => (a === 'bad-aws' ? 'prod-aws' : a)),
        REFUSED,
      ),
    ).toContain('CloudAccountNameExists')
    // A secret the server refuses: named by its field, never echoed.
    expect(await fails(1, createAws, SPACED)).toContain('field accessKeySecret')
    // The secret never as an argument: there is no such option, and its value is not repeated.
    const asArgument = await fails(2, [...createAws, `--access-key-secret=${REFUSED}`], REFUSED)
    expect(asArgument).toContain("'--access-key-secret=…'")
    expect(await fails(1, createAws, '\n')).toBe('strongroom: the access key secret is empty\n')
    // Nothing to update; no such account; no reveal.
    expect(await fails(2, ['cloud-account', 'update', 'prod-ali'])).toContain('cloud-account update needs')
    expect(await fails(1, ['cloud-account', 'show', 'nope'])).toMatch(/^strongroom: CloudAccountNotFound: /)
    expect(await fails(2, ['cloud-account', 'reveal', 'prod-ali'])).toContain("unknown command 'reveal'")

    // Nothing was made.
    expect(await okJson(['cloud-account', 'role', 'list', 'prod-ali'])).toEqual(aliRoles)
    expect(await okJson(['cloud-account', 'list'])).toEqual(accounts)
  }, 120_000)

  it('keeps every access key secret out of the audit log, its export and the server log', async () => {
    const exported = await ok(['audit', 'export'])
    const actions = exported
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { action: string }).action)
    expect(actions).toEqual(
      expect.arrayContaining([
        'cloud_account.create',
        'cloud_account.update',
        'cloud_account.rotate_key',
        'cloud_account.disable',
        'cloud_account.enable',
        'cloud_account_role.add',
        'cloud_account_role.update',
        'cloud_account_role.disable',
        'cloud_account_role.enable',
        'cloud_account_role.remove',
      ]),
    )
    const events = await ok(['audit', 'query', '--json'])
    const everything = [exported, events, ...printed, server.logs()].join('\n')
    for (const secret of SECRETS) expect(everything).not.toContain(secret)
    // Nor the parts of a secret that JSON would escape differently.
    expect(everything).not.toContain('canary+secret')
  })
})
