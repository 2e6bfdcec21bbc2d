import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fromProcess } from '@aws-sdk/credential-providers'
import { Value } from '@sinclair/typebox/value'
import { ObtainedCloudAccessCredential } from '@strongroom/protocol'
import { AlibabaCloudStsCredentials, AwsStsCredentials, type CloudCredentials } from '@strongroom/sdk'
import { InvalidArgumentError } from 'commander'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UsageError } from '../src/errors.js'
import { run } from '../src/program.js'
import {
  cloudCredentialSecrets,
  cloudCredentialsAnswerJson,
  cloudCredentialsAwsProcess,
  cloudCredentialsEnv,
  cloudCredentialsJson,
  formatCloudCredentials,
  isoSeconds,
  parseCloudDuration,
  shellQuote,
} from '../src/workload/cloud-credentials-output.js'
import { fakeIo } from './fake-io.js'

const exec = promisify(execFile)

const AWS_ROLE = 'arn:aws:iam::123456789012:role/deployer'
const ALIBABA_ROLE = 'acs:ram::1234567890123456:role/deployer'
const AWS_SECRET = 'canary/aws+secret=key'
const AWS_TOKEN = 'canary-aws-session/token+9=='
const ALIBABA_SECRET = 'canary-alibaba-secret'
const ALIBABA_TOKEN = 'CAIScanary+alibaba/token=='
const CA_AWS = `ca_${'a'.repeat(26)}`
const CAR_AWS = `car_${'b'.repeat(26)}`
const CA_ALIBABA = `ca_${'c'.repeat(26)}`
const CAR_ALIBABA = `car_${'d'.repeat(26)}`

/** An hour from now, to the second (the wire has no fractions). */
const inAnHour = () => new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000)

function aws(expiration = inAnHour(), secret = AWS_SECRET, token = AWS_TOKEN): AwsStsCredentials {
  return new AwsStsCredentials(
    {
      cloudAccountId: CA_AWS,
      cloudAccountRoleId: CAR_AWS,
      cloudAccountRoleName: 'deployer',
      cloudAccountRoleExternalId: AWS_ROLE,
      accessKeyId: 'ASIAVISIBLEKEYID1',
      expiration,
      expiresAt: expiration.getTime() / 1000,
    },
    secret,
    token,
  )
}

function alibaba(expiration = inAnHour(), secret = ALIBABA_SECRET): AlibabaCloudStsCredentials {
  return new AlibabaCloudStsCredentials(
    {
      cloudAccountId: CA_ALIBABA,
      cloudAccountRoleId: CAR_ALIBABA,
      cloudAccountRoleName: 'deployer',
      cloudAccountRoleExternalId: ALIBABA_ROLE,
      accessKeyId: 'STS.visiblekeyid1',
      expiration,
      expiresAt: expiration.getTime() / 1000,
    },
    secret,
    ALIBABA_TOKEN,
  )
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strongroom-cloud-cli-'))
})
afterEach(async () => rm(dir, { recursive: true, force: true }))

/** What `sh` makes of `lines`: each variable as the shell sees it, set with `set -a` and eval. */
async function evaluatedBySh(lines: string, names: readonly string[]): Promise<Record<string, string>> {
  const script = `set -a; eval "$LINES"; set +a; ${names.map((n) => `printf '%s\\0' "$${n}"`).join('; ')}`
  const { stdout } = await exec('sh', ['-c', script], { env: { PATH: process.env['PATH'], LINES: lines } })
  const values = stdout.split('\0').slice(0, -1)
  return Object.fromEntries(names.map((name, i) => [name, values[i]!]))
}

describe('--format json', () => {
  it('an AWS role: the vendor, the key, the secret, the session token and the expiration to the second', () => {
    const credentials = aws(new Date('2030-01-01T01:00:00Z'))
    expect(JSON.parse(cloudCredentialsJson(credentials))).toEqual({
      vendor: 'aws',
      accessKeyId: 'ASIAVISIBLEKEYID1',
      secretAccessKey: AWS_SECRET,
      sessionToken: AWS_TOKEN,
      expiration: '2030-01-01T01:00:00Z',
    })
    expect(formatCloudCredentials(credentials, 'json')).toBe(cloudCredentialsJson(credentials))
  })

  it('an Alibaba Cloud role, in its own field names', () => {
    expect(JSON.parse(cloudCredentialsJson(alibaba(new Date('2030-01-01T01:00:00Z'))))).toEqual({
      vendor: 'alibaba_cloud',
      accessKeyId: 'STS.visiblekeyid1',
      accessKeySecret: ALIBABA_SECRET,
      securityToken: ALIBABA_TOKEN,
      expiration: '2030-01-01T01:00:00Z',
    })
  })

  it('--json: the whole answer, as the protocol’s schema has it', () => {
    for (const credentials of [aws(), alibaba()]) {
      const answer = JSON.parse(cloudCredentialsAnswerJson(credentials))
      expect(Value.Check(ObtainedCloudAccessCredential, answer)).toBe(true)
      expect(answer.cloudAccountRoleAccessCredential.accessCredentialExpiresAt).toBe(credentials.expiresAt)
    }
    expect(JSON.parse(cloudCredentialsAnswerJson(aws(new Date('2030-01-01T01:00:00Z'))))).toEqual({
      cloudAccountId: CA_AWS,
      cloudAccountRoleExternalId: AWS_ROLE,
      cloudAccountRoleId: CAR_AWS,
      cloudAccountRoleName: 'deployer',
      cloudAccountVendorType: 'aws',
      cloudAccountRoleAccessCredential: {
        accessCredentialExpiresAt: Date.UTC(2030, 0, 1, 1) / 1000,
        awsStsToken: {
          accessKeyId: 'ASIAVISIBLEKEYID1',
          secretAccessKey: AWS_SECRET,
          sessionToken: AWS_TOKEN,
          expiration: '2030-01-01T01:00:00Z',
        },
      },
    })
  })
})

describe('--format env', () => {
  it('AWS: the variables @aws-sdk/credential-provider-env reads, export-less', () => {
    const credentials = aws(new Date('2030-01-01T01:00:00Z'))
    expect(cloudCredentialsEnv(credentials)).toBe(
      [
        'AWS_ACCESS_KEY_ID=ASIAVISIBLEKEYID1',
        `AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`,
        `AWS_SESSION_TOKEN=${AWS_TOKEN}`,
        'AWS_CREDENTIAL_EXPIRATION=2030-01-01T01:00:00Z',
        '',
      ].join('\n'),
    )
    expect(formatCloudCredentials(credentials, 'env')).toBe(cloudCredentialsEnv(credentials))
  })

  it('Alibaba Cloud: the variables @alicloud/credentials reads', () => {
    expect(cloudCredentialsEnv(alibaba())).toBe(
      [
        'ALIBABA_CLOUD_ACCESS_KEY_ID=STS.visiblekeyid1',
        `ALIBABA_CLOUD_ACCESS_KEY_SECRET=${ALIBABA_SECRET}`,
        `ALIBABA_CLOUD_SECURITY_TOKEN=${ALIBABA_TOKEN}`,
        '',
      ].join('\n'),
    )
  })

  it('sh reads back every value exactly, however odd', async () => {
    const odd = `it's $HOME \`id\` "q" \\ ; | & * ? ~ ! # \n end`
    const lines = cloudCredentialsEnv(aws(new Date('2030-01-01T01:00:00Z'), odd, AWS_TOKEN))
    const names = [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_CREDENTIAL_EXPIRATION',
    ]
    expect(await evaluatedBySh(lines, names)).toEqual({
      AWS_ACCESS_KEY_ID: 'ASIAVISIBLEKEYID1',
      AWS_SECRET_ACCESS_KEY: odd,
      AWS_SESSION_TOKEN: AWS_TOKEN,
      AWS_CREDENTIAL_EXPIRATION: '2030-01-01T01:00:00Z',
    })
    const alibabaLines = cloudCredentialsEnv(alibaba(inAnHour(), odd))
    expect(
      (await evaluatedBySh(alibabaLines, ['ALIBABA_CLOUD_ACCESS_KEY_SECRET']))[
        'ALIBABA_CLOUD_ACCESS_KEY_SECRET'
      ],
    ).toBe(odd)
  })

  it('shellQuote leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('abc+/=:,.@%_-')).toBe('abc+/=:,.@%_-')
    expect(shellQuote('')).toBe("''")
    expect(shellQuote('a b')).toBe("'a b'")
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
    expect(shellQuote('$x')).toBe("'$x'")
  })
})

describe('--format aws-process', () => {
  it('prints Version 1 with the key, secret, session token and expiration', () => {
    expect(JSON.parse(cloudCredentialsAwsProcess(aws(new Date('2030-01-01T01:00:00Z'))))).toEqual({
      Version: 1,
      AccessKeyId: 'ASIAVISIBLEKEYID1',
      SecretAccessKey: AWS_SECRET,
      SessionToken: AWS_TOKEN,
      Expiration: '2030-01-01T01:00:00Z',
    })
  })

  /** The AWS SDK's own `credential_process` provider, reading a profile that runs a script printing `output`. */
  async function readByAwsSdk(output: string) {
    const printed = join(dir, 'credentials.json')
    const script = join(dir, 'print-credentials.cjs')
    await writeFile(printed, output)
    await writeFile(
      script,
      `process.stdout.write(require('node:fs').readFileSync(${JSON.stringify(printed)}, 'utf8'))`,
    )
    const configFilepath = join(dir, 'config')
    await writeFile(
      configFilepath,
      `[profile strongroom]\ncredential_process = ${JSON.stringify(process.execPath)} ${JSON.stringify(script)}\n`,
    )
    return fromProcess({
      profile: 'strongroom',
      configFilepath,
      filepath: join(dir, 'credentials'),
      ignoreCache: true,
    })()
  }

  it('the AWS SDK’s credential_process provider accepts what it prints', async () => {
    const credentials = aws()
    const read = await readByAwsSdk(`${formatCloudCredentials(credentials, 'aws-process')}\n`)
    expect(read).toMatchObject({
      accessKeyId: 'ASIAVISIBLEKEYID1',
      secretAccessKey: AWS_SECRET,
      sessionToken: AWS_TOKEN,
    })
    expect(read.expiration).toEqual(credentials.expiration)
  })

  it('and reads its Expiration: it refuses the output of expired credentials', async () => {
    const expired = aws(new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000))
    await expect(readByAwsSdk(cloudCredentialsAwsProcess(expired))).rejects.toThrow(/expired credentials/)
  })

  it('an Alibaba Cloud role is a usage error (exit 2)', () => {
    let error: unknown
    try {
      formatCloudCredentials(alibaba(), 'aws-process')
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(UsageError)
    expect(error).toMatchObject({ exitCode: 2 })
    expect((error as Error).message).toContain(ALIBABA_ROLE)
    expect((error as Error).message).not.toContain(ALIBABA_SECRET)
  })
})

describe('the rest', () => {
  it('--duration takes whole seconds from 900 to 43200', () => {
    expect(parseCloudDuration('900')).toBe(900)
    expect(parseCloudDuration('43200')).toBe(43_200)
    for (const text of ['899', '43201', '3600.5', '1h', '', '-900', '0x384', '1e3'])
      expect(() => parseCloudDuration(text), text).toThrow(InvalidArgumentError)
  })

  it('isoSeconds drops the milliseconds', () => {
    expect(isoSeconds(new Date('2030-01-01T01:00:00.000Z'))).toBe('2030-01-01T01:00:00Z')
  })

  it('names the secrets to keep out of error lines', () => {
    expect(cloudCredentialSecrets(aws())).toEqual([AWS_SECRET, AWS_TOKEN])
    expect(cloudCredentialSecrets(alibaba())).toEqual([ALIBABA_SECRET, ALIBABA_TOKEN])
  })
})

describe('strongroom get cloud-credentials', () => {
  const INSTANCE = 'idaas_demo'
  const OBTAIN = `/v2/${INSTANCE}/cloudAccountRoles/_/actions/obtainAccessCredential`

  /** A workload's surroundings: a client configuration, its secret, and a fake server answering `answer`. */
  async function workload(answer: (url: URL) => [number, unknown]) {
    const configPath = join(dir, 'client-config.json')
    await writeFile(
      configPath,
      JSON.stringify({
        idaasInstanceId: INSTANCE,
        clientId: 'app_demo',
        issuer: 'http://127.0.0.1:9/api/v2/iauths_system/oauth2',
        tokenEndpoint: 'http://127.0.0.1:9/token',
        developerApiEndpoint: 'http://127.0.0.1:9',
        authnConfiguration: {
          authnMethod: 'CLIENT_SECRET_POST',
          clientSecretEnvVarName: 'IDAAS_CLIENT_SECRET',
        },
      }),
    )
    const requests: { method: string; url: URL; headers: Headers }[] = []
    const fetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
      const url = new URL(String(input))
      requests.push({ method: init.method ?? 'GET', url, headers: new Headers(init.headers) })
      if (url.pathname === '/token')
        return Response.json({ access_token: 'workload-token', token_type: 'Bearer', expires_in: 3600 })
      if (url.pathname !== OBTAIN) return Response.json({ Code: 'RouteNotFound' }, { status: 404 })
      const [status, body] = answer(url)
      return Response.json(body, { status })
    }) as typeof globalThis.fetch
    const io = fakeIo({
      env: { CLOUD_IDAAS_CONFIG_PATH: configPath, IDAAS_CLIENT_SECRET: 'client-secret', HOME: dir },
      cwd: dir,
      fetch,
    })
    return { io, requests }
  }

  const awsAnswer = (): [number, unknown] => [200, JSON.parse(cloudCredentialsAnswerJson(aws()))]
  const alibabaAnswer = (): [number, unknown] => [200, JSON.parse(cloudCredentialsAnswerJson(alibaba()))]

  it('prints the credentials as JSON on stdout, nothing on stderr, and asks for the duration given', async () => {
    const { io, requests } = await workload(awsAnswer)
    expect(await run(['get', 'cloud-credentials', AWS_ROLE, '--duration', '7200'], io)).toBe(0)
    expect(JSON.parse(io.stdout.text)).toMatchObject({ vendor: 'aws', secretAccessKey: AWS_SECRET })
    expect(io.stderr.text).toBe('')
    const obtain = requests.find((r) => r.url.pathname === OBTAIN)!
    expect(Object.fromEntries(obtain.url.searchParams)).toEqual({
      cloudAccountRoleExternalId: AWS_ROLE,
      durationSeconds: '7200',
    })
    expect(obtain.headers.get('authorization')).toBe('Bearer workload-token')
  })

  it('--json prints the whole answer; with --format env it is a usage error', async () => {
    const { io } = await workload(awsAnswer)
    expect(await run(['get', 'cloud-credentials', AWS_ROLE, '--json'], io)).toBe(0)
    expect(JSON.parse(io.stdout.text).cloudAccountRoleAccessCredential.awsStsToken.sessionToken).toBe(
      AWS_TOKEN,
    )
    const both = (await workload(awsAnswer)).io
    expect(await run(['get', 'cloud-credentials', AWS_ROLE, '--json', '--format', 'env'], both)).toBe(2)
    expect(both.stdout.text).toBe('')
  })

  it('--format env and aws-process; aws-process for an Alibaba Cloud role exits 2 with nothing on stdout', async () => {
    const env = (await workload(awsAnswer)).io
    expect(await run(['get', 'cloud-credentials', AWS_ROLE, '--format', 'env'], env)).toBe(0)
    expect(env.stdout.text).toContain(`AWS_SESSION_TOKEN=${AWS_TOKEN}\n`)
    const processIo = (await workload(awsAnswer)).io
    expect(await run(['get', 'cloud-credentials', AWS_ROLE, '--format', 'aws-process'], processIo)).toBe(0)
    expect(JSON.parse(processIo.stdout.text)).toMatchObject({ Version: 1, SessionToken: AWS_TOKEN })
    const refused = (await workload(alibabaAnswer)).io
    expect(await run(['get', 'cloud-credentials', ALIBABA_ROLE, '--format', 'aws-process'], refused)).toBe(2)
    expect(refused.stdout.text).toBe('')
    expect(refused.stderr.text).toMatch(/^strongroom: --format aws-process is for AWS roles/)
    expect(refused.stderr.text).not.toContain(ALIBABA_SECRET)
    expect(refused.stderr.text).not.toContain(ALIBABA_TOKEN)
  })

  it('refuses a --duration outside 900–43200 or a --format it does not know, with exit 2 and no request', async () => {
    for (const args of [
      ['--duration', '600'],
      ['--duration', '50000'],
      ['--duration', 'PT1H'],
      ['--format', 'yaml'],
    ]) {
      const { io, requests } = await workload(awsAnswer)
      expect(await run(['get', 'cloud-credentials', AWS_ROLE, ...args], io), args.join(' ')).toBe(2)
      expect(requests).toHaveLength(0)
    }
  })

  it('--out writes a file only its owner may read, and the secret nowhere else', async () => {
    const { io } = await workload(awsAnswer)
    expect(await run(['get', 'cloud-credentials', AWS_ROLE, '--format', 'env', '--out', 'aws.env'], io)).toBe(
      0,
    )
    expect(io.stdout.text).toBe('')
    expect(io.stderr.text).not.toContain(AWS_SECRET)
    const file = join(dir, 'aws.env')
    expect(await readFile(file, 'utf8')).toContain(`AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
  })

  it('a refusal is one line on stderr with the server’s code, exit 1', async () => {
    const { io } = await workload(() => [
      404,
      {
        Code: 'CloudAccountRoleNotFound',
        Message: `cloud account role ${AWS_ROLE} does not exist`,
        RequestId: 'req_9',
      },
    ])
    expect(await run(['get', 'cloud-credentials', AWS_ROLE], io)).toBe(1)
    expect(io.stdout.text).toBe('')
    expect(io.stderr.text).toBe(
      `strongroom: CloudAccountRoleNotFound: cloud account role ${AWS_ROLE} does not exist (request id req_9)\n`,
    )
  })
})

// The CloudCredentials union is what the formatters take: both classes belong to it.
const _typed: CloudCredentials[] = [aws(), alibaba()]
void _typed
