import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, type ServerProcess, startServer } from '../support/server-process.js'
import { createUpstreamProvider, okJson } from './cli.js'

/** `node packages/sdk/examples/dist/<name>.js [args]`, as the README tells a user to run it. */
function runExample(name: string, env: NodeJS.ProcessEnv, args: string[] = []) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'packages/sdk/examples/dist', `${name}.js`), ...args],
      {
        env: { ...process.env, ...env, NO_COLOR: '1' },
      },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('the SDK examples run against the server npm start creates', () => {
  let server: ServerProcess
  let env: NodeJS.ProcessEnv
  let apiKey: string

  beforeAll(async () => {
    server = await startServer()
    // The two exports npm start prints.
    env = {
      CLOUD_IDAAS_CONFIG_PATH: join(server.dataDir, 'client-config.json'),
      IDAAS_CLIENT_SECRET: (await readFile(join(server.dataDir, 'client-secret'), 'utf8')).trim(),
    }
    apiKey = (await okJson(server, ['credential', 'reveal', 'demo/api-key'])).value.apiKey
  })
  afterAll(async () => server?.stop())

  const expectRan = (result: { code: number | null; stdout: string; stderr: string }) => {
    expect(result.code, result.stderr + result.stdout).toBe(0)
    // Examples show that a secret arrived, never the secret.
    expect(result.stdout + result.stderr).not.toContain(apiKey)
    expect(result.stdout + result.stderr).not.toContain(env.IDAAS_CLIENT_SECRET)
  }

  it('get-api-key', async () => {
    const result = await runExample('get-api-key', env)
    expectRan(result)
    // Its length only: not one character of it.
    expect(result.stdout).toContain(`demo/api-key: [${apiKey.length} characters, not shown]`)
    expect(result.stdout).not.toContain(apiKey.slice(0, 9))
    expect(result.stdout).toContain('[REDACTED]')
  })

  it('jwt-tokens: every JWT operation', async () => {
    const result = await runExample('jwt-tokens', env)
    expectRan(result)
    expect(result.stdout).toContain('same JWT: true')
    expect(result.stdout).toContain('[ true, false, true, false, true ]')
  })

  it('oauth-token, against a second application of the same server as the upstream', async () => {
    const config = JSON.parse(await readFile(env.CLOUD_IDAAS_CONFIG_PATH!, 'utf8'))
    await createUpstreamProvider(server, {
      identifier: 'upstream',
      tokenEndpoint: config.tokenEndpoint,
      grantTo: config.clientId,
    })
    const result = await runExample('oauth-token', env, ['upstream'])
    expectRan(result)
    expect(result.stdout).toMatch(/^Bearer /m)
  })

  it('token-exchange feeding a static provider', async () => {
    const result = await runExample('token-exchange', env)
    expectRan(result)
    expect(result.stdout).toContain(`obtained with an exchanged token: ${apiKey.length} characters`)
  })
})
