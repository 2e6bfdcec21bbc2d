// `strongroom agent` as a process (packages/cli/dist/bin.js: `npm run build` first), serving an AWS
// role from a stand-in of the server's two routes a workload uses (its token endpoint and
// ObtainCloudAccountRoleAccessCredential): what only a real process shows — the reader of its
// stderr going away (EPIPE), and signals.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AwsStsCredentials } from '@strongroom/sdk'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../../src/program.js'
import { cloudCredentialsAnswerJson } from '../../src/workload/cloud-credentials-output.js'
import { fakeIo } from '../fake-io.js'
import { AWS_ROLE, request } from './fake-source.js'

const cliBin = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bin.js')
const INSTANCE = 'idaas_demo'
const OBTAIN = `/v2/${INSTANCE}/cloudAccountRoles/_/actions/obtainAccessCredential`

function awsAnswer(): string {
  const expiration = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000)
  return cloudCredentialsAnswerJson(
    new AwsStsCredentials(
      {
        cloudAccountId: `ca_${'a'.repeat(26)}`,
        cloudAccountRoleId: `car_${'b'.repeat(26)}`,
        cloudAccountRoleName: 'deployer',
        cloudAccountRoleExternalId: AWS_ROLE,
        accessKeyId: 'ASIAVISIBLEKEYID1',
        expiration,
        expiresAt: expiration.getTime() / 1000,
      },
      'canary-agent-process-secret',
      'canary-agent-process-token',
    ),
  )
}

let dir: string
let server: Server
let workloadEnv: Record<string, string>
beforeAll(async () => {
  if (!existsSync(cliBin)) throw new Error(`${cliBin} does not exist: run \`npm run build\` first`)
  dir = await mkdtemp(join(tmpdir(), 'strongroom-agent-process-'))
  server = createServer((req, res) => {
    req.resume()
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const [status, body] =
      path === '/token'
        ? [200, JSON.stringify({ access_token: 'workload-token', token_type: 'Bearer', expires_in: 3600 })]
        : path === OBTAIN
          ? [200, awsAnswer()]
          : [404, JSON.stringify({ Code: 'RouteNotFound' })]
    res.writeHead(status, { 'content-type': 'application/json' }).end(body)
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const config = join(dir, 'client-config.json')
  await writeFile(
    config,
    JSON.stringify({
      idaasInstanceId: INSTANCE,
      clientId: 'app_demo',
      issuer: `${origin}/api/v2/iauths_system/oauth2`,
      tokenEndpoint: `${origin}/token`,
      developerApiEndpoint: origin,
      authnConfiguration: {
        authnMethod: 'CLIENT_SECRET_POST',
        clientSecretEnvVarName: 'IDAAS_CLIENT_SECRET',
      },
    }),
  )
  workloadEnv = { CLOUD_IDAAS_CONFIG_PATH: config, IDAAS_CLIENT_SECRET: 'client-secret', HOME: dir }
})

const agents: ChildProcess[] = []
afterEach(() => {
  for (const child of agents.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})
afterAll(async () => {
  await new Promise((done) => server.close(done))
  await rm(dir, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

function startAgent(envOut: string, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [cliBin, 'agent', '--cloud-role', AWS_ROLE, '--env-out', envOut, ...extra],
    {
      env: { PATH: process.env['PATH'] ?? '', ...workloadEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  agents.push(child)
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  )
  const ready = async () => {
    const deadline = Date.now() + 15_000
    while (!stderr.includes('ready;')) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the agent did not start:\n${stderr}`)
      await sleep(20)
    }
  }
  return { child, exited, ready, stderr: () => stderr }
}

/** The consumer's variables, as `set -a; . FILE` would read these simple values. */
async function consumerEnv(envOut: string): Promise<Record<string, string>> {
  const text = await readFile(envOut, 'utf8')
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => {
        const [, name, value] = /^([A-Z_]+)=(.*)$/.exec(line)!
        return [name!, value!.replace(/^'(.*)'$/, '$1')]
      }),
  )
}

describe('strongroom agent, as a process', () => {
  it('keeps serving when the reader of its stderr goes away, and still removes --env-out when stopped', async () => {
    const envOut = join(dir, 'epipe.env')
    const agent = startAgent(envOut, ['--verbose'])
    await agent.ready()
    const env = await consumerEnv(envOut)
    const get = () =>
      request(env['AWS_CONTAINER_CREDENTIALS_FULL_URI']!, {
        headers: { authorization: env['AWS_CONTAINER_AUTHORIZATION_TOKEN']! },
      })
    expect((await get()).status).toBe(200)
    // The reader goes away (a closed terminal, `agent … 2>&1 | head`): with --verbose each request
    // is a line on stderr, so each now meets EPIPE.
    agent.child.stderr!.destroy()
    for (let i = 0; i < 5; i++) {
      const answer = await get()
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body).AccessKeyId).toBe('ASIAVISIBLEKEYID1')
      await sleep(50)
    }
    expect(agent.child.exitCode).toBeNull()
    expect(existsSync(envOut)).toBe(true)
    agent.child.kill('SIGTERM')
    expect(await agent.exited).toEqual({ code: 0, signal: null })
    expect(existsSync(envOut)).toBe(false)
  })

  it('stops on SIGHUP as on SIGTERM: --env-out removed, exit 0', async () => {
    const envOut = join(dir, 'hup.env')
    const agent = startAgent(envOut)
    await agent.ready()
    agent.child.kill('SIGHUP')
    expect(await agent.exited).toEqual({ code: 0, signal: null })
    expect(existsSync(envOut)).toBe(false)
    expect(agent.stderr()).toContain('ready; stops on SIGINT, SIGTERM or SIGHUP')
    expect(agent.stderr()).toContain('strongroom: agent: SIGHUP: stopping')
  })
})

describe('strongroom agent --env-out', () => {
  it('refuses a folder others may write, naming it and the rule, and writes nothing there', async () => {
    const open = join(dir, 'open')
    await mkdir(open)
    await chmod(open, 0o777)
    // Should it start anyway, it is stopped after a while rather than served for ever.
    const io = fakeIo({
      env: workloadEnv,
      cwd: dir,
      fetch: globalThis.fetch,
      onInterrupt: (handler) => {
        const timer = setTimeout(handler, 3_000)
        return () => clearTimeout(timer)
      },
    })
    const code = await run(['agent', '--cloud-role', AWS_ROLE, '--env-out', 'open/cloud.env'], io)
    expect(io.stderr.text).toBe(
      `strongroom: cannot write --env-out open/cloud.env: refusing to write a secret into ${open}: it is writable by everyone (mode 0777) without being a sticky folder of this user or root; whoever can write a folder can replace the files in it. Use a folder only this user (or root) can write, e.g. chmod go-w ${open}\n`,
    )
    expect(code).toBe(1)
    expect(await readdir(open)).toEqual([])
  })
})
