// `strongroom agent` end to end: the real server, whose STS calls go to the stand-in STS servers, and
// the agent as a workload process serving a granted Alibaba Cloud role and AWS role on loopback. The
// vendors' own, unmodified credential chains (`new Credential()` of @alicloud/credentials,
// `fromNodeProviderChain()` of @aws-sdk/credential-providers) run in child processes with nothing
// but the environment the agent wrote (plus PATH, and HOME pointing at an empty folder), and get the
// credentials the stand-in issued — and fresh ones once those near expiry. Then the server stops:
// the agent keeps serving what it holds until it expires, then 503, and recovers when the server is
// back. Requests without the capability are refused, the endpoint answers on loopback only, `--file`
// outputs are 0600 and follow a rotation, and no secret shows in anything printed.
//
// "Near expiry" without a real 15-minute wait: the stand-ins' clocks (`now`) are set back, so the
// 900-second sessions (the vendors' minimum) they issue expire seconds from now in real time. The
// server passes the expiration through, the agent's SDK cache refreshes halfway through such short
// lives, and the consumers' own caches ask again as they would 15 (Alibaba) or 5 (AWS) minutes before
// a real expiry: every step runs its real code on real clocks, only the issued lifetimes are short.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { connect, createServer } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliBin, repoRoot, runCli, type ServerProcess, startServer } from '../support/server-process.js'
import {
  type StsStandIn,
  startAlibabaStsStandIn,
  startAwsStsStandIn,
} from '../support/sts-stand-ins/index.js'
import { ok, okJson } from './cli.js'

const AWS_ACCOUNT = '123456789012'
const AWS_ROLE = `arn:aws:iam::${AWS_ACCOUNT}:role/agent-e2e`
const AWS_KEY_ID = 'AKIAAGENTE2E00000001'
const AWS_SECRET = 'CANARY-agent-aws-long-lived-secret'
const ALIBABA_UID = '1234567890123456'
const ALIBABA_ROLE = `acs:ram::${ALIBABA_UID}:role/agent-e2e`
const ALIBABA_KEY_ID = 'LTAIAGENTE2E00000001'
const ALIBABA_SECRET = 'CANARY-agent-alibaba-long-lived-secret'
const API_KEY_1 = 'CANARY-agent-api-key-value-one'
const API_KEY_2 = 'CANARY-agent-api-key-value-two'
const SESSION_S = 900
/** Real seconds the first credentials live, and the second (the outage test waits for them to expire). */
const FIRST_LIFE_S = 16
const SECOND_LIFE_S = 22

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A GET through node:http (every header as given), answering status and body. */
function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const sent = httpRequest(url, { method, headers }, (answer) => {
      let body = ''
      answer.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk
      })
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body }))
    })
    sent.on('error', reject)
    sent.end()
  })
}

/** The agent process: its output kept, and ways to wait on it. */
interface AgentProcess {
  readonly child: ChildProcess
  output(): string
  waitFor(test: () => boolean, what: string, timeoutMs?: number): Promise<void>
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function startAgent(args: string[], env: Record<string, string>): AgentProcess {
  const child = spawn(process.execPath, [cliBin, 'agent', ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return {
    child,
    output: () => output,
    async waitFor(test, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      while (!test()) {
        if (child.exitCode !== null)
          throw new Error(`the agent exited (${child.exitCode}) before ${what}:\n${output}`)
        if (Date.now() > deadline) throw new Error(`no ${what} after ${timeoutMs} ms:\n${output}`)
        await sleep(50)
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const result = await exited
      clearTimeout(timer)
      return result
    },
  }
}

/** Node with a script, in the repository (so `require` finds the vendors' packages), and `env` only. */
async function consumer(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
    cwd: repoRoot,
    env,
    timeout: 40_000,
  })
  return stdout
}

/**
 * A consumer that asks its credential chain once, prints the access key id and how it was found,
 * then (with `untilChange`) asks every 250 ms until it gets another key, and prints that.
 */
const alibabaConsumer = (untilChange: boolean) => `
const Credential = require('@alicloud/credentials').default
;(async () => {
  const credential = new Credential()
  const first = await credential.getCredential()
  console.log(JSON.stringify({ first: first.accessKeyId, provider: first.providerName }))
  if (!${untilChange}) return
  const deadline = Date.now() + 30000
  for (;;) {
    await new Promise((r) => setTimeout(r, 250))
    const next = await credential.getCredential()
    if (next.accessKeyId !== first.accessKeyId) { console.log(JSON.stringify({ next: next.accessKeyId })); return }
    if (Date.now() > deadline) { console.error('no new credentials'); process.exit(3) }
  }
})().catch((error) => { console.error(error.message); process.exit(1) })
`
const awsConsumer = (untilChange: boolean) => `
const { fromNodeProviderChain } = require('@aws-sdk/credential-providers')
;(async () => {
  const provider = fromNodeProviderChain()
  const first = await provider()
  console.log(JSON.stringify({ first: first.accessKeyId, source: first.$source }))
  if (!${untilChange}) return
  const deadline = Date.now() + 30000
  for (;;) {
    await new Promise((r) => setTimeout(r, 250))
    const next = await provider()
    if (next.accessKeyId !== first.accessKeyId) { console.log(JSON.stringify({ next: next.accessKeyId })); return }
    if (Date.now() > deadline) { console.error('no new credentials'); process.exit(3) }
  }
})().catch((error) => { console.error(error.message); process.exit(1) })
`

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe('strongroom agent: cloud credentials where the cloud SDKs look, and secrets in files', () => {
  let server: ServerProcess
  let serverLogs = ''
  let port: number
  let awsSts: StsStandIn
  let alibabaSts: StsStandIn
  /** Added to the stand-ins' clocks (ms): negative makes what they issue expire sooner. */
  let clockOffset = 0
  let dir: string
  let agent: AgentProcess
  let agentEnv: Record<string, string>
  let consumerEnv: Record<string, string>
  /** The variables the agent wrote to --env-out, as a consumer loads them. */
  let consumerEnvFromFile: Record<string, string> = {}
  const printed: string[] = []

  const envFile = () => join(dir, 'cloud.env')
  const apiKeyFile = () => join(dir, 'out', 'api-key')
  const standInNow = () => Date.now() + clockOffset
  /** Sets the stand-ins' clocks so that a 900-second session issued now expires `seconds` from now. */
  const issueLiving = (seconds: number) => {
    clockOffset = (seconds - SESSION_S) * 1000
  }

  beforeAll(async () => {
    const standInOptions = { now: standInNow, maxSkewMs: 2 * 3600_000 }
    awsSts = await startAwsStsStandIn({
      ...standInOptions,
      keys: { [AWS_KEY_ID]: AWS_SECRET },
      roles: [{ arn: AWS_ROLE, trustedKeyIds: [AWS_KEY_ID] }],
    })
    alibabaSts = await startAlibabaStsStandIn({
      ...standInOptions,
      keys: { [ALIBABA_KEY_ID]: ALIBABA_SECRET },
      roles: [{ arn: ALIBABA_ROLE, trustedKeyIds: [ALIBABA_KEY_ID] }],
    })
    port = await freePort()
    server = await startServer({ args: ['--listen', `127.0.0.1:${port}`] })
    dir = await mkdtemp(join(tmpdir(), 'strongroom-agent-e2e-'))
    for (const d of ['agent-home', 'consumer-home', 'out']) await mkdir(join(dir, d))

    // The administrator's side: both accounts pointing at the stand-ins, 900-second roles, grants
    // for the demo workload, and a credential for --file.
    const account = async (
      name: string,
      vendor: string,
      id: string,
      keyId: string,
      secret: string,
      sts: string,
    ) =>
      ok(
        server,
        [
          'cloud-account',
          'create',
          '--name',
          name,
          '--vendor',
          vendor,
          '--account-id',
          id,
          '--access-key-id',
          keyId,
          '--sts-endpoint',
          sts,
        ],
        `${secret}\n`,
      )
    await account('agent-aws', 'aws', AWS_ACCOUNT, AWS_KEY_ID, AWS_SECRET, awsSts.url)
    await account(
      'agent-alibaba',
      'alibaba_cloud',
      ALIBABA_UID,
      ALIBABA_KEY_ID,
      ALIBABA_SECRET,
      alibabaSts.url,
    )
    await ok(server, [
      'cloud-account',
      'role',
      'add',
      'agent-aws',
      '--arn',
      AWS_ROLE,
      '--default-duration',
      '900',
    ])
    await ok(server, [
      'cloud-account',
      'role',
      'add',
      'agent-alibaba',
      '--arn',
      ALIBABA_ROLE,
      '--default-duration',
      '900',
    ])
    await ok(
      server,
      ['credential', 'create', '--identifier', 'agent/api-key', '--type', 'api_key'],
      API_KEY_1,
    )
    const configPath = join(server.dataDir, 'client-config.json')
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { clientId: string }
    const apps = await okJson<{ applicationId: string; clientId: string }[]>(server, ['app', 'list'])
    const demo = apps.find((a) => a.clientId === config.clientId)!.applicationId
    for (const role of [AWS_ROLE, ALIBABA_ROLE])
      await ok(server, [
        'grant',
        'create',
        '--app',
        demo,
        '--type',
        'cloud_account_role',
        '--resource',
        role,
        '--actions',
        'obtain',
      ])
    await ok(server, [
      'grant',
      'create',
      '--app',
      demo,
      '--type',
      'credential',
      '--resource',
      'agent/api-key',
      '--actions',
      'obtain',
    ])
    agentEnv = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: join(dir, 'agent-home'),
      NO_COLOR: '1',
      CLOUD_IDAAS_CONFIG_PATH: configPath,
      IDAAS_CLIENT_SECRET: (await readFile(join(server.dataDir, 'client-secret'), 'utf8')).trim(),
    }
    consumerEnv = { PATH: agentEnv['PATH']!, HOME: join(dir, 'consumer-home') }
  })

  afterAll(async () => {
    const agentOutput = agent?.output() ?? ''
    await agent?.stop()
    serverLogs += server?.logs() ?? ''
    await server?.stop()
    // Canary: nothing secret in anything the agent, the consumers or the server printed.
    // The capabilities: the Alibaba URI (and its last segment) and the AWS token.
    const uri = consumerEnvFromFile['ALIBABA_CLOUD_CREDENTIALS_URI']
    const token = consumerEnvFromFile['AWS_CONTAINER_AUTHORIZATION_TOKEN']
    const capability = uri === undefined || token === undefined ? [] : [uri, uri.split('/').at(-1)!, token]
    const secrets = [
      AWS_SECRET,
      ALIBABA_SECRET,
      API_KEY_1,
      API_KEY_2,
      agentEnv?.['IDAAS_CLIENT_SECRET'] ?? 'unset',
      ...capability,
      ...(awsSts?.issued ?? []).flatMap((c) => [c.accessKeySecret, c.securityToken]),
      ...(alibabaSts?.issued ?? []).flatMap((c) => [c.accessKeySecret, c.securityToken]),
    ]
    const everything = [agentOutput, serverLogs, ...printed].join('\n')
    for (const secret of secrets) expect(everything, 'a secret in the output').not.toContain(secret)
    await awsSts?.close()
    await alibabaSts?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it("hands unmodified consumers the role's credentials through their default chains, and fresh ones near expiry", async () => {
    issueLiving(FIRST_LIFE_S)
    agent = startAgent(
      [
        '--cloud-role',
        ALIBABA_ROLE,
        '--cloud-role',
        AWS_ROLE,
        '--env-out',
        envFile(),
        '--file',
        `${apiKeyFile()}=strongroom://credential/agent/api-key`,
        '--poll',
        '1',
        '--verbose',
        '--json',
      ],
      agentEnv,
    )
    await agent.waitFor(() => existsSync(envFile()), '--env-out file')
    // What the agent obtained at start lives FIRST_LIFE_S; what it gets next, SECOND_LIFE_S.
    issueLiving(SECOND_LIFE_S)
    expect((await stat(envFile())).mode & 0o777).toBe(0o600)
    const text = await readFile(envFile(), 'utf8')
    consumerEnvFromFile = Object.fromEntries(
      text
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    )
    expect(Object.keys(consumerEnvFromFile).sort()).toEqual(
      [
        'ALIBABA_CLOUD_CLI_PROFILE_DISABLED',
        'ALIBABA_CLOUD_CREDENTIALS_URI',
        'ALIBABA_CLOUD_ECS_METADATA_DISABLED',
        'AWS_CONTAINER_AUTHORIZATION_TOKEN',
        'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      ].sort(),
    )
    expect(consumerEnvFromFile['ALIBABA_CLOUD_CREDENTIALS_URI']).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/alibaba-cloud\/[A-Za-z0-9_-]{43}$/,
    )
    // The agent said where the variables are, never what they hold (on stdout with --json).
    expect(agent.output()).toContain(`the consumer's environment is in ${envFile()}`)
    const announced = JSON.parse(
      agent
        .output()
        .split('\n')
        .find((line) => line.startsWith('{'))!,
    )
    expect(announced).toEqual({
      url: new URL(consumerEnvFromFile['ALIBABA_CLOUD_CREDENTIALS_URI']!).origin,
      roles: [
        { arn: ALIBABA_ROLE, vendor: 'alibaba_cloud' },
        { arn: AWS_ROLE, vendor: 'aws' },
      ],
      variables: Object.keys(consumerEnvFromFile),
      envFile: envFile(),
      files: [apiKeyFile()],
    })

    const env = { ...consumerEnv, ...consumerEnvFromFile }
    const [alibaba, aws] = await Promise.all([
      consumer(alibabaConsumer(true), env),
      consumer(awsConsumer(true), env),
    ])
    printed.push(alibaba, aws)

    const [aliFirst, aliNext] = lines(alibaba)
    expect(aliFirst!['provider']).toBe('default/credential_uri')
    expect(aliFirst!['first']).toBe(alibabaSts.issued[0]!.accessKeyId)
    expect(aliNext!['next']).toBe(alibabaSts.issued[1]!.accessKeyId)
    const [awsFirst, awsNext] = lines(aws)
    expect(awsFirst!['source']).toMatchObject({ CREDENTIALS_HTTP: 'z' })
    expect(awsFirst!['first']).toBe(awsSts.issued[0]!.accessKeyId)
    expect(awsNext!['next']).toBe(awsSts.issued[1]!.accessKeyId)
    // The AWS chain really asked the endpoint (twice at least), and the endpoint asked the server,
    // which asked STS once per session.
    expect(agent.output().match(/agent: aws 200/g)?.length ?? 0).toBeGreaterThanOrEqual(2)
    expect(awsSts.requests.filter((r) => r.action === 'AssumeRole' && r.status === 200)).toHaveLength(2)
    expect(alibabaSts.requests.filter((r) => r.action === 'AssumeRole' && r.status === 200)).toHaveLength(2)
  })

  it('keeps serving the held credentials while the server is down, 503 once they expire, and recovers', async () => {
    const uri = consumerEnvFromFile['ALIBABA_CLOUD_CREDENTIALS_URI']!
    const awsUri = consumerEnvFromFile['AWS_CONTAINER_CREDENTIALS_FULL_URI']!
    const token = { authorization: consumerEnvFromFile['AWS_CONTAINER_AUTHORIZATION_TOKEN']! }
    const held = alibabaSts.issued[1]!
    issueLiving(SESSION_S) // what is issued after the outage lives its full 900 s
    serverLogs += server.logs()
    await server.stop()

    // An unmodified consumer still gets the held credentials.
    const during = lines(await consumer(alibabaConsumer(false), { ...consumerEnv, ...consumerEnvFromFile }))
    expect(during[0]!['first']).toBe(held.accessKeyId)

    // Until they expire (the agent tries to refresh halfway through, fails, says so, serves them).
    for (;;) {
      const answer = await get(uri)
      if (Date.now() >= held.expiration) break
      if (answer.status !== 200) {
        // Only in the last instant before expiry may the clock between us and the agent disagree.
        expect(held.expiration - Date.now(), answer.body).toBeLessThan(1_000)
        break
      }
      expect(JSON.parse(answer.body).AccessKeyId).toBe(held.accessKeyId)
      await sleep(400)
    }
    await sleep(300)
    const gone = await get(uri)
    expect(gone.status).toBe(503)
    expect(JSON.parse(gone.body)).toMatchObject({ Code: 'CredentialsUnavailable' })
    expect((await get(awsUri, token)).status).toBe(503)
    expect(agent.output()).toMatch(
      new RegExp(
        `agent: ${ALIBABA_ROLE.replace(/[/.]/g, '\\$&')}: cannot obtain credentials: \\S+: .*; serving the held credentials until they expire at \\d{4}-`,
      ),
    )
    expect(agent.output()).toMatch(/cannot obtain credentials: \S+: .*; no credentials to serve/)

    // The server is back, on the same address: new credentials, once the agent's back-off (which
    // reaches 30 s while requests keep failing) lets it ask again.
    server = await startServer({ dataDir: server.dataDir, args: ['--listen', `127.0.0.1:${port}`] })
    let back = await get(uri)
    for (let i = 0; back.status !== 200 && i < 140; i++) {
      await sleep(250)
      back = await get(uri)
    }
    expect(back.status).toBe(200)
    expect(JSON.parse(back.body).AccessKeyId).toBe(alibabaSts.issued.at(-1)!.accessKeyId)
    expect(JSON.parse(back.body).AccessKeyId).not.toBe(held.accessKeyId)
    // The AWS role backs off on its own.
    let aws = await get(awsUri, token)
    for (let i = 0; aws.status !== 200 && i < 140; i++) {
      await sleep(250)
      aws = await get(awsUri, token)
    }
    expect(aws.status).toBe(200)
    expect(agent.output()).toMatch(/credentials obtained again after \d+ failures?/)
  }, 120_000)

  it('refuses requests without the capability, and answers on loopback only', async () => {
    const uri = new URL(consumerEnvFromFile['ALIBABA_CLOUD_CREDENTIALS_URI']!)
    const awsUri = consumerEnvFromFile['AWS_CONTAINER_CREDENTIALS_FULL_URI']!
    const token = consumerEnvFromFile['AWS_CONTAINER_AUTHORIZATION_TOKEN']!
    const refused = [
      await get(uri.origin),
      await get(`${uri.origin}/alibaba-cloud/${'A'.repeat(43)}`),
      await get(`${uri.href}x`),
      await get(awsUri),
      await get(awsUri, { authorization: `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` }),
      await get(`${uri.origin}/latest/meta-data/`),
    ]
    for (const answer of refused)
      expect(answer).toEqual({ status: 401, body: '{"Code":"Unauthorized","Message":"Unauthorized"}' })
    expect((await get(uri.href, {}, 'POST')).status).toBe(405)
    expect((await get(uri.href)).status).toBe(200)

    // Bound to 127.0.0.1: the machine's other addresses do not answer on that port.
    expect(uri.hostname).toBe('127.0.0.1')
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i !== undefined && !i.internal && !i.address.startsWith('fe80:'))
      .map((i) => i!.address)
    for (const address of others) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host: address, port: Number(uri.port) })
        socket.setTimeout(2_000, () => {
          socket.destroy()
          resolve('timeout')
        })
        socket.once('connect', () => {
          socket.destroy()
          resolve('connected')
        })
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
      })
      expect(outcome, `${address}:${uri.port}`).not.toBe('connected')
    }

    // And it will not be told to listen anywhere else.
    const wide = await runCli(['agent', '--cloud-role', AWS_ROLE, '--print-env', '--listen', '0.0.0.0:0'], {
      env: agentEnv,
    })
    printed.push(wide.stdout, wide.stderr)
    expect(wide.code).toBe(2)
    expect(wide.stderr).toMatch(
      /refusing to listen on 0\.0\.0\.0: the credentials endpoint listens on loopback only/,
    )
  })

  it('renders --file outputs with mode 0600 and rewrites them when the secret rotates', async () => {
    expect(await readFile(apiKeyFile(), 'utf8')).toBe(API_KEY_1)
    expect((await stat(apiKeyFile())).mode & 0o777).toBe(0o600)
    await ok(server, ['credential', 'put', 'agent/api-key'], API_KEY_2)
    await agent.waitFor(
      () => agent.output().includes(`${apiKeyFile()} updated`),
      'rotation of --file',
      10_000,
    )
    expect(await readFile(apiKeyFile(), 'utf8')).toBe(API_KEY_2)
    expect((await stat(apiKeyFile())).mode & 0o777).toBe(0o600)
  })

  it('serves the roles to a command under strongroom run --cloud-role, whose unmodified SDKs find them', async () => {
    issueLiving(SESSION_S)
    const script = `
      const Credential = require('@alicloud/credentials').default
      const { fromNodeProviderChain } = require('@aws-sdk/credential-providers')
      ;(async () => {
        const alibaba = await new Credential().getCredential()
        const aws = await fromNodeProviderChain()()
        console.log(JSON.stringify({ alibaba: alibaba.accessKeyId, alibabaVia: alibaba.providerName, aws: aws.accessKeyId, awsVia: Object.keys(aws.$source ?? {}) }))
      })().catch((error) => { console.error(error.message); process.exit(1) })`
    const r = await runCli(
      ['run', '--cloud-role', AWS_ROLE, '--cloud-role', ALIBABA_ROLE, '--', process.execPath, '-e', script],
      // A long-lived key in the environment would win in both chains: run takes it out.
      {
        env: {
          ...agentEnv,
          AWS_ACCESS_KEY_ID: 'AKIASHADOWSHADOW0001',
          AWS_SECRET_ACCESS_KEY: 'shadow-shadow',
        },
        cwd: repoRoot,
        timeoutMs: 40_000,
      },
    )
    printed.push(r.stdout, r.stderr)
    expect(r.code, r.stderr).toBe(0)
    const seen = JSON.parse(r.stdout) as Record<string, string> & { awsVia: string[] }
    expect(awsSts.issued.map((c) => c.accessKeyId)).toContain(seen['aws'])
    expect(alibabaSts.issued.map((c) => c.accessKeyId)).toContain(seen['alibaba'])
    expect(seen['alibabaVia']).toBe('default/credential_uri')
    expect(seen.awsVia).toContain('CREDENTIALS_HTTP')
  })

  it('stops cleanly on SIGTERM, removing the --env-out file', async () => {
    const { code, signal } = await agent.stop()
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    expect(existsSync(envFile())).toBe(false)
    expect(agent.output()).toMatch(/agent: SIGTERM: stopping\n$/)
  })
})
