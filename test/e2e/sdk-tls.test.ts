import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConnectionError, createPamClient } from '@strongroom/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { selfSignedCertificate } from '../support/tls.js'

describe('createPamClient() against the server over HTTPS with a self-signed certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sr-sdk-tls-'))
  let server: ServerProcess
  let configPath: string
  let env: NodeJS.ProcessEnv
  let cert: string

  beforeAll(async () => {
    ;({ cert } = selfSignedCertificate(dir))
    server = await startServer({ args: ['--tls-cert', cert, '--tls-key', join(dir, 'key.pem')] })
    expect(server.url).toMatch(/^https:\/\//)
    configPath = join(server.dataDir, 'client-config.json')
    // Exactly what npm start prints: the configuration file, and the variable it names.
    env = { IDAAS_CLIENT_SECRET: readFileSync(join(server.dataDir, 'client-secret'), 'utf8').trim() }
  })
  afterAll(async () => server?.stop())

  it('works given the server’s CA, from the unchanged configuration the server wrote', async () => {
    await using pam = await createPamClient({ configPath, env, http: { caFile: cert } })
    expect(await pam.getApiKey('demo/api-key')).toMatch(/^demo-[0-9a-f]{32}$/)
  })

  it('fails with a clear connection error without it, and does not retry a TLS failure', async () => {
    await using pam = await createPamClient({ configPath, env })
    const error = await pam.getApiKey('demo/api-key').then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error?.message).toMatch(/certificate|CA/i)
    expect(error?.message).not.toContain(env.IDAAS_CLIENT_SECRET)
  })

  it('applies unsafeIgnoreSslCert from the configuration (the Python SDK ignores it)', async () => {
    const config = JSON.parse(readFileSync(configPath, 'utf8'))
    const insecure = join(dir, 'insecure-config.json')
    writeFileSync(
      insecure,
      JSON.stringify({
        ...config,
        httpConfiguration: { ...config.httpConfiguration, unsafeIgnoreSslCert: true },
      }),
    )
    await using pam = await createPamClient({ configPath: insecure, env })
    expect(await pam.getApiKey('demo/api-key')).toMatch(/^demo-/)
  })
})
