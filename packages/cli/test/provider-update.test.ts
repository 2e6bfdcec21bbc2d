import { describe, expect, it } from 'vitest'
import { run } from '../src/program.js'
import { fakeFetch, fakeIo, fakeTerminal, pipedStdin } from './fake-io.js'

const INSTANCE = 'idaas_00000000000000000000000000'
const env = {
  STRONGROOM_URL: 'http://sr.test',
  STRONGROOM_ADMIN_TOKEN: 'srat_TOKEN',
  STRONGROOM_INSTANCE: INSTANCE,
}
const path = `/admin/v1/instances/${INSTANCE}/credential-providers/up`
const SECRET = 'upstream-secret-unit-3c9e'

const provider = {
  credentialProviderId: 'atp_01jabcdefghjkmnpqrstvwxyz0',
  credentialProviderIdentifier: 'up',
  credentialProviderName: 'up',
  credentialProviderType: 'oauth',
  status: 'enabled',
  description: '',
  instanceId: INSTANCE,
  createTime: 0,
  updateTime: 0,
  oauth: {
    tokenEndpoint: 'https://auth.example.com/oauth2/token',
    clientId: 'c',
    authMethod: 'client_secret_post',
    defaultScope: '',
  },
}

function server() {
  return fakeFetch({
    [`GET ${path}`]: [200, provider],
    [`PATCH ${path}`]: [200, provider],
  })
}

const patched = (requests: ReturnType<typeof server>['requests']) =>
  requests.filter((r) => r.method === 'PATCH').map((r) => r.body)

describe('provider update --token-endpoint', () => {
  it('reads the client secret again, from stdin as create does, when the endpoint moves to another origin', async () => {
    const { fetch, requests } = server()
    const io = fakeIo({ env, fetch, stdin: pipedStdin(`${SECRET}\n`) })
    expect(
      await run(['provider', 'update', 'up', '--token-endpoint', 'https://other.example/token'], io),
    ).toBe(0)
    expect(patched(requests)).toEqual([
      { oauth: { tokenEndpoint: 'https://other.example/token', clientSecret: SECRET } },
    ])
    expect(io.stdout.text + io.stderr.text).not.toContain(SECRET)
  })

  it('asks with a hidden prompt on a terminal', async () => {
    const { fetch, requests } = server()
    const stdin = fakeTerminal()
    const io = fakeIo({ env, fetch, stdin })
    const done = run(
      ['provider', 'update', 'up', '--token-endpoint', 'https://auth.example.com:8443/token'],
      io,
    )
    setTimeout(() => stdin.write(`${SECRET}\r`), 10)
    expect(await done).toBe(0)
    expect(io.stderr.text).toBe('Client secret: \n')
    expect(patched(requests)).toEqual([
      { oauth: { tokenEndpoint: 'https://auth.example.com:8443/token', clientSecret: SECRET } },
    ])
  })

  it('reads no secret when the endpoint stays on its origin', async () => {
    const { fetch, requests } = server()
    const io = fakeIo({ env, fetch, stdin: pipedStdin(`${SECRET}\n`) })
    expect(
      await run(['provider', 'update', 'up', '--token-endpoint', 'https://auth.example.com/v2/token'], io),
    ).toBe(0)
    expect(patched(requests)).toEqual([{ oauth: { tokenEndpoint: 'https://auth.example.com/v2/token' } }])
  })
})
