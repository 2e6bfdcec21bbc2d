// `npm run cluster` (scripts/cluster.mjs): a throwaway PostgreSQL, three real `strongroom serve`
// processes on it and a load balancer in front. What one node writes, another reads; a workload's
// token from one node works on another, also after a signing-key rotation made through a third;
// Ctrl-C stops everything.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cliBin, repoRoot } from '../support/server-process.js'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init)
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : JSON.parse(text) }
}

describe('npm run cluster', () => {
  let script: ChildProcess | undefined
  let output = ''
  afterAll(async () => {
    // A failed test must not leave PostgreSQL and three servers behind: the script stops them.
    if (script && script.exitCode === null && script.signalCode === null) {
      script.kill('SIGTERM')
      await new Promise((resolve) => script!.once('exit', resolve))
    }
  })

  it('starts PostgreSQL and three nodes sharing it, bootstrapped once, and stops them all on Ctrl-C', async () => {
    expect(existsSync(cliBin), 'run `npm run build` before the end-to-end tests').toBe(true)
    script = spawn(process.execPath, ['scripts/cluster.mjs', '--base-port', '0', '--no-build'], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    script.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    script.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    const deadline = Date.now() + 50_000
    while (!output.includes('Ctrl-C stops every node') && Date.now() < deadline && script.exitCode === null)
      await sleep(50)
    expect(output).toContain('Ctrl-C stops every node')

    const urls = [1, 2, 3].map((n) => new RegExp(`node ${n}: (http://\\S+)`).exec(output)?.[1] ?? '')
    expect(urls.every((u) => u.startsWith('http://127.0.0.1:'))).toBe(true)
    const balancer = /load balancer: (http:\/\/\S+)/.exec(output)?.[1] ?? ''
    expect(balancer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const folder = /folder:\s+(\S+)/.exec(output)![1]!
    const pgPort = Number(/database: postgres:\/\/postgres@127\.0\.0\.1:(\d+)\//.exec(output)![1])
    const node1 = join(folder, 'node1')
    // Bootstrapped once: only the first node has an admin token and the demo's files.
    expect(existsSync(join(node1, 'admin-token'))).toBe(true)
    expect(existsSync(join(folder, 'node2', 'admin-token'))).toBe(false)
    const admin = {
      authorization: `Bearer ${readFileSync(join(node1, 'admin-token'), 'utf8').trim()}`,
      'content-type': 'application/json',
    }
    const [u1, u2, u3] = urls as [string, string, string]
    const instanceId = (await json(`${u2}/admin/v1/instances`, { headers: admin })).body.entities[0]
      .instanceId
    const i = `/admin/v1/instances/${instanceId}`

    // Written through node 1, revealed through node 3.
    const created = await json(`${u1}${i}/credentials`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        credentialIdentifier: 'cluster/key',
        credentialType: 'api_key',
        value: { apiKey: 'k1' },
      }),
    })
    expect(created.status).toBe(201)
    const revealed = await json(`${u3}${i}/credentials/cluster%2Fkey/reveal`, {
      method: 'POST',
      headers: admin,
      body: '{}',
    })
    expect(revealed.body.value).toEqual({ apiKey: 'k1' })

    // The demo workload: a token from node 2 obtains its credential through node 3.
    const demo = JSON.parse(readFileSync(join(node1, 'client-config.json'), 'utf8')) as { clientId: string }
    const secret = readFileSync(join(node1, 'client-secret'), 'utf8').trim()
    const token = async (url: string) => {
      const res = await json(`${url}/v2/${instanceId}/authorizationServer/iauths_system/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: demo.clientId,
          client_secret: secret,
          scope: 'urn:cloud:idaas:pam|.all',
        }).toString(),
      })
      expect(res.status).toBe(200)
      return res.body.access_token as string
    }
    const obtain = (url: string, bearer: string) =>
      json(`${url}/v2/${instanceId}/credentials/_/actions/obtain?credentialIdentifier=demo/api-key`, {
        headers: { authorization: `Bearer ${bearer}` },
      })
    expect((await obtain(u3, await token(u2))).status).toBe(200)
    // Through the load balancer: three requests, three nodes, one answer.
    const throughBalancer = await token(balancer)
    for (let n = 0; n < 3; n++) expect((await obtain(balancer, throughBalancer)).status).toBe(200)

    // A signing key rotated through node 3 signs there at once; node 1 verifies its tokens.
    const rotated = await json(`${u3}${i}/signing-keys/rotate`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ activateAfterSeconds: 0 }),
    })
    expect(rotated.status).toBe(201)
    await sleep(5) // the new key is active from the millisecond after its activation time
    const fresh = await token(u3)
    expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid).toBe(rotated.body.kid)
    expect((await obtain(u1, fresh)).status).toBe(200)

    // Ctrl-C: every node and PostgreSQL stop, and the folder goes.
    const exited = new Promise<number | null>((resolve) => script!.once('exit', (code) => resolve(code)))
    script.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(output).toContain('stopped every node and PostgreSQL')
    expect(existsSync(folder)).toBe(false)
    for (const url of [...urls, balancer, `http://127.0.0.1:${pgPort}`]) {
      await expect(fetch(url, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow()
    }
  })
})
