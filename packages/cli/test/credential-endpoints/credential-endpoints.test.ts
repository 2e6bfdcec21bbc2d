import { connect } from 'node:net'
import { networkInterfaces } from 'node:os'
import * as alicloud from '@alicloud/credentials'
import { fromHttp } from '@aws-sdk/credential-providers'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type CredentialEndpoints,
  type CredentialEndpointsOptions,
  startCredentialEndpoints,
} from '../../src/credential-endpoints/credential-endpoints.js'
import { isLoopbackAddress, parseLoopbackListen } from '../../src/credential-endpoints/listen-address.js'
import { CliError, UsageError } from '../../src/errors.js'
import {
  ALIBABA_ROLE,
  AWS_ROLE,
  type FakeSource,
  fakeSource,
  HOUR,
  MINUTE,
  refusals,
  request,
  secretOf,
  stsUnavailable,
  tokenOf,
} from './fake-source.js'

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

type CredentialClass = typeof alicloud.default.default
// The package is CommonJS with `exports.default = Credential`.
const AlibabaCredential: CredentialClass =
  (alicloud.default as { default?: CredentialClass }).default ??
  (alicloud.default as unknown as CredentialClass)

const opened: { endpoints?: CredentialEndpoints; source: FakeSource }[] = []
afterEach(async () => {
  for (const { endpoints, source } of opened.splice(0)) {
    await endpoints?.close()
    source.close()
  }
})

/** Endpoints for both roles on a fake source; the log kept; no background timer unless asked. */
async function start(
  options: Partial<CredentialEndpointsOptions> & { source?: FakeSource } = {},
): Promise<{ endpoints: CredentialEndpoints; source: FakeSource; logged: string[] }> {
  const source = options.source ?? fakeSource()
  const logged: string[] = []
  const entry: { endpoints?: CredentialEndpoints; source: FakeSource } = { source }
  opened.push(entry)
  const endpoints = await startCredentialEndpoints({
    pam: source,
    roles: [{ arn: ALIBABA_ROLE }, { arn: AWS_ROLE }],
    log: (line) => logged.push(line),
    checkEveryMs: 0,
    now: () => source.now,
    ...options,
  })
  entry.endpoints = endpoints
  return { endpoints, source, logged }
}

const alibabaUri = (e: CredentialEndpoints) => e.env['ALIBABA_CLOUD_CREDENTIALS_URI']!
const awsUri = (e: CredentialEndpoints) => e.env['AWS_CONTAINER_CREDENTIALS_FULL_URI']!
const awsToken = (e: CredentialEndpoints) => e.env['AWS_CONTAINER_AUTHORIZATION_TOKEN']!
const getAlibaba = (e: CredentialEndpoints) => request(alibabaUri(e))
const getAws = (e: CredentialEndpoints) => request(awsUri(e), { headers: { authorization: awsToken(e) } })

describe('startCredentialEndpoints: what it serves', () => {
  it('answers each vendor in its own format, from the source, obtained once before listening', async () => {
    const { endpoints, source } = await start()
    expect(source.calls.map((c) => c.arn).sort()).toEqual([ALIBABA_ROLE, AWS_ROLE].sort())

    const alibaba = await getAlibaba(endpoints)
    expect(alibaba.status).toBe(200)
    expect(alibaba.headers.get('content-type')).toBe('application/json')
    expect(alibaba.headers.get('cache-control')).toBe('no-store')
    const a = JSON.parse(alibaba.body)
    expect(Object.keys(a)).toEqual(['Code', 'AccessKeyId', 'AccessKeySecret', 'SecurityToken', 'Expiration'])
    expect(a).toMatchObject({
      Code: 'Success',
      AccessKeySecret: expect.stringMatching(/^canary-alibaba-secret-/),
    })
    expect(a.AccessKeyId).toMatch(/^STS\.key-\d$/)
    expect(a.Expiration).toMatch(ISO_SECONDS)
    expect(Date.parse(a.Expiration)).toBe(source.now + HOUR)

    const aws = await getAws(endpoints)
    expect(aws.status).toBe(200)
    const w = JSON.parse(aws.body)
    expect(Object.keys(w)).toEqual(['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration'])
    expect(w.AccessKeyId).toMatch(/^ASIAKEY\d$/)
    expect(w.Token).toMatch(/^canary-aws-token-/)
    expect(w.Expiration).toMatch(ISO_SECONDS)

    // Served from the cache: no request per consumer call.
    for (let i = 0; i < 5; i++) expect((await getAws(endpoints)).status).toBe(200)
    expect(source.calls).toHaveLength(2)
    expect(endpoints.stats()).toMatchObject({ served: { alibaba_cloud: 1, aws: 6 }, refused: 0 })
  })

  it("gives the consumer's environment: unguessable, new at each start, on loopback", async () => {
    const first = (await start()).endpoints
    const second = (await start()).endpoints
    expect(Object.keys(first.env).sort()).toEqual(
      [
        'ALIBABA_CLOUD_CLI_PROFILE_DISABLED',
        'ALIBABA_CLOUD_CREDENTIALS_URI',
        'ALIBABA_CLOUD_ECS_METADATA_DISABLED',
        'AWS_CONTAINER_AUTHORIZATION_TOKEN',
        'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      ].sort(),
    )
    expect(first.env['ALIBABA_CLOUD_ECS_METADATA_DISABLED']).toBe('true')
    expect(first.env['ALIBABA_CLOUD_CLI_PROFILE_DISABLED']).toBe('true')
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(first.address.host).toBe('127.0.0.1')
    // 32 random bytes, base64url: 43 characters, 256 bits.
    expect(alibabaUri(first)).toMatch(new RegExp(`^${first.url}/alibaba-cloud/[A-Za-z0-9_-]{43}$`))
    expect(awsUri(first)).toBe(`${first.url}/aws/credentials`)
    expect(awsToken(first)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(alibabaUri(second)).not.toBe(alibabaUri(first))
    expect(awsToken(second)).not.toBe(awsToken(first))
    expect(first.secrets).toEqual(
      expect.arrayContaining([alibabaUri(first), alibabaUri(first).split('/').at(-1), awsToken(first)]),
    )
    expect(first.unset).toEqual(expect.arrayContaining(['AWS_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_ID']))
  })

  it('serves only the vendors it was given a role of', async () => {
    const { endpoints } = await start({ roles: [{ arn: AWS_ROLE, durationSeconds: 900 }] })
    expect(Object.keys(endpoints.env).sort()).toEqual([
      'AWS_CONTAINER_AUTHORIZATION_TOKEN',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ])
    expect(endpoints.unset).not.toContain('ALIBABA_CLOUD_ACCESS_KEY_ID')
    expect((await getAws(endpoints)).status).toBe(200)
    // The Alibaba path shape with some capability: nothing is served there.
    expect((await request(`${endpoints.url}/alibaba-cloud/${awsToken(endpoints)}`)).status).toBe(401)
  })

  it('passes the duration to the source', async () => {
    const { source } = await start({ roles: [{ arn: AWS_ROLE, durationSeconds: 900 }] })
    expect(source.calls).toEqual([{ arn: AWS_ROLE, durationSeconds: 900 }])
  })

  it("is read by the vendors' own providers: @alicloud/credentials' credentials URI and @aws-sdk's fromHttp", async () => {
    const { endpoints } = await start({ source: fakeSource(Date.now()) })
    const alibaba = new AlibabaCredential(
      new alicloud.Config({ type: 'credentials_uri', credentialsURI: alibabaUri(endpoints) }),
    )
    const model = await alibaba.getCredential()
    expect(model.accessKeyId).toMatch(/^STS\.key-\d$/)
    expect(model.accessKeySecret).toMatch(/^canary-alibaba-secret-/)
    expect(model.securityToken).toMatch(/^canary-alibaba-token-/)

    const aws = await fromHttp({
      awsContainerCredentialsFullUri: awsUri(endpoints),
      awsContainerAuthorizationToken: awsToken(endpoints),
    })()
    expect(aws.accessKeyId).toMatch(/^ASIAKEY\d$/)
    expect(aws.sessionToken).toMatch(/^canary-aws-token-/)
    expect(aws.expiration).toBeInstanceOf(Date)
    expect(endpoints.stats().served).toEqual({ alibaba_cloud: 1, aws: 1 })
  })
})

describe('startCredentialEndpoints: who it answers', () => {
  it('refuses every request without the capability with the same 401, naming nothing', async () => {
    const { endpoints } = await start()
    const cap = alibabaUri(endpoints).split('/').at(-1)!
    const flipped = (cap[0] === 'A' ? 'B' : 'A') + cap.slice(1)
    const refusals = [
      request(endpoints.url),
      request(`${endpoints.url}/`),
      request(`${endpoints.url}/alibaba-cloud/`),
      request(`${endpoints.url}/alibaba-cloud/${flipped}`),
      request(`${endpoints.url}/alibaba-cloud/${cap}/more`),
      request(`${endpoints.url}/alibaba-cloud/${cap.slice(0, -1)}`),
      request(`${endpoints.url}/ALIBABA-CLOUD/${cap}`),
      request(awsUri(endpoints)),
      request(awsUri(endpoints), { headers: { authorization: `Bearer ${awsToken(endpoints)}` } }),
      request(awsUri(endpoints), { headers: { authorization: awsToken(endpoints).slice(1) } }),
      request(awsUri(endpoints), { headers: { authorization: cap } }),
      request(`${endpoints.url}/aws/credentials/x`, { headers: { authorization: awsToken(endpoints) } }),
      request(`${endpoints.url}/latest/meta-data/iam/security-credentials/`),
      request(`${endpoints.url}/aws/${cap}`),
      // DNS rebinding: a page that made its own name resolve to 127.0.0.1 sends its own Host.
      request(alibabaUri(endpoints), { headers: { host: 'attacker.example' } }),
      request(awsUri(endpoints), { headers: { authorization: awsToken(endpoints), host: 'evil.test:80' } }),
    ]
    const answers = await Promise.all(refusals)
    for (const answer of answers) {
      expect(answer.status).toBe(401)
      expect(answer.body).toBe('{"Code":"Unauthorized","Message":"Unauthorized"}')
      expect(answer.headers.get('www-authenticate')).toBeNull()
      expect(answer.body).not.toMatch(/aws|alibaba|token|capab|path/i)
    }
    expect(endpoints.stats()).toMatchObject({
      refused: refusals.length,
      served: { alibaba_cloud: 0, aws: 0 },
    })
    // The capability itself still works, and localhost is a loopback name.
    expect((await getAlibaba(endpoints)).status).toBe(200)
    expect((await request(alibabaUri(endpoints).replace('127.0.0.1', 'localhost'))).status).toBe(200)
  })

  it('answers 405 to any method but GET, with or without the capability', async () => {
    const { endpoints } = await start()
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']) {
      for (const url of [alibabaUri(endpoints), `${endpoints.url}/nothing`]) {
        const answer = await request(url, { method })
        expect(answer.status, `${method} ${url}`).toBe(405)
        expect(answer.headers.get('allow')).toBe('GET')
      }
    }
    expect(endpoints.stats().served.alibaba_cloud).toBe(0)
  })

  it('listens on loopback only: a non-loopback --listen is refused, and other interfaces do not answer', async () => {
    for (const listen of ['0.0.0.0:0', '[::]:0', '192.168.1.10:0', 'example.com:80', '[::ffff:127.0.0.1]:0'])
      await expect(start({ listen }), listen).rejects.toThrow(UsageError)
    await expect(start({ listen: 'nonsense' })).rejects.toThrow(/HOST:PORT/)

    const { endpoints } = await start()
    expect(endpoints.address.host).toBe('127.0.0.1')
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i !== undefined && !i.internal && !i.address.startsWith('fe80:'))
      .map((i) => i!.address)
    for (const address of others) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host: address, port: endpoints.address.port })
        socket.setTimeout(2000)
        socket.once('connect', () => {
          socket.destroy()
          resolve('connected')
        })
        socket.once('timeout', () => {
          socket.destroy()
          resolve('timeout')
        })
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
      })
      expect(outcome, `${address}:${endpoints.address.port}`).not.toBe('connected')
    }
  })

  it('listens where it is told on loopback, and says when it cannot', async () => {
    const first = await start({ listen: '127.0.0.1:0' })
    const port = first.endpoints.address.port
    await expect(start({ listen: `127.0.0.1:${port}` })).rejects.toThrow(CliError)
    await expect(start({ listen: `127.0.0.1:${port}` })).rejects.toThrow(/EADDRINUSE/)
  })

  it('refuses two roles of one vendor, no role, and an ARN of no vendor, before any request', async () => {
    const source = fakeSource()
    opened.push({ source })
    const other = 'arn:aws:iam::123456789012:role/other'
    await expect(start({ source, roles: [{ arn: AWS_ROLE }, { arn: other }] })).rejects.toThrow(
      /two AWS roles .* one role per vendor/,
    )
    await expect(start({ source, roles: [] })).rejects.toThrow(UsageError)
    await expect(start({ source, roles: [{ arn: 'arn:aws:s3:::bucket' }] })).rejects.toThrow(
      /not a cloud role ARN/,
    )
    expect(source.calls).toHaveLength(0)
  })

  it('does not start when the first credentials cannot be obtained (a missing grant fails at once)', async () => {
    const source = fakeSource()
    source.failWith = stsUnavailable
    await expect(start({ source })).rejects.toMatchObject({ serverCode: 'StsUnavailable' })
  })
})

describe('startCredentialEndpoints: refresh and outages', () => {
  it('serves fresh credentials once the held ones near expiry, with one request for many consumers', async () => {
    const { endpoints, source } = await start({ roles: [{ arn: AWS_ROLE }] })
    const first = JSON.parse((await getAws(endpoints)).body).AccessKeyId
    source.now += HOUR - 10 * MINUTE // inside the SDK's 15-minute refresh window
    // The first call in the window starts a background refresh and is still answered at once.
    const many = await Promise.all(Array.from({ length: 20 }, () => getAws(endpoints)))
    expect(many.every((a) => a.status === 200)).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const next = JSON.parse((await getAws(endpoints)).body).AccessKeyId
    expect(next).not.toBe(first)
    expect(source.calls).toHaveLength(2)
  })

  it('keeps serving the held credentials while the server fails, logs each failure once, then 503 after they expire', async () => {
    const { endpoints, source, logged } = await start({ roles: [{ arn: ALIBABA_ROLE }] })
    const served = JSON.parse((await getAlibaba(endpoints)).body)
    const expiresAt = Date.parse(served.Expiration)

    // The server goes away while the credentials are in their refresh window.
    source.failWith = stsUnavailable
    source.now = expiresAt - 10 * MINUTE
    const during = await getAlibaba(endpoints)
    expect(during.status).toBe(200)
    expect(JSON.parse(during.body).AccessKeyId).toBe(served.AccessKeyId)

    // Past the SDK's own margin (it hands nothing out in the last minute): the endpoint's copy.
    source.now = expiresAt - 30_000
    const late = await getAlibaba(endpoints)
    expect(late.status).toBe(200)
    expect(JSON.parse(late.body).AccessKeyId).toBe(served.AccessKeyId)
    expect(logged.length).toBeGreaterThanOrEqual(1)
    for (const line of logged) {
      expect(line).toMatch(
        /^acs:ram::1234567890123456:role\/reader: cannot obtain credentials: StsUnavailable: .*; serving the held credentials until they expire at \d{4}-/,
      )
    }

    // Expired: nothing to serve. Retry-After is when the feed asks again: the second failure in a
    // row (the first was at expiry − 30 s) backs off 2 s.
    source.now = expiresAt
    const gone = await getAlibaba(endpoints)
    expect(gone.status).toBe(503)
    expect(gone.headers.get('retry-after')).toBe('2')
    expect(JSON.parse(gone.body)).toEqual({
      Code: 'CredentialsUnavailable',
      Message: expect.stringContaining('StsUnavailable'),
    })
    expect(logged.at(-1)).toMatch(/StsUnavailable: .*; no credentials to serve/)
    expect(endpoints.stats().unavailable).toBe(1)

    // The server is back: once the back-off is over, new credentials, and one line saying so.
    source.failWith = undefined
    expect((await getAlibaba(endpoints)).status).toBe(503)
    source.now += 2_000
    const back = await getAlibaba(endpoints)
    expect(back.status).toBe(200)
    expect(JSON.parse(back.body).AccessKeyId).not.toBe(served.AccessKeyId)
    expect(logged.at(-1)).toMatch(/credentials obtained again after \d+ failures?$/)

    // Never a secret in the log.
    expect(logged.join('\n')).not.toMatch(/canary/)
    expect(logged.join('\n')).not.toContain(alibabaUri(endpoints).split('/').at(-1))
  })

  it('does not ask a failing server at every consumer call: it backs off while it can serve', async () => {
    const { endpoints, source, logged } = await start({ roles: [{ arn: AWS_ROLE }] })
    source.failWith = stsUnavailable
    source.now += HOUR - 30_000 // the SDK holds nothing usable any more: each ask is a request
    const before = source.calls.length
    for (let i = 0; i < 10; i++) expect((await getAws(endpoints)).status).toBe(200)
    expect(source.calls.length - before).toBe(1)
    expect(logged).toHaveLength(1)
    source.now += 1_500 // past the first back-off (1 s)
    expect((await getAws(endpoints)).status).toBe(200)
    expect(source.calls.length - before).toBe(2)
    // The same failure again is not logged again: the recovery line counts them.
    expect(logged).toHaveLength(1)
  })

  it('with nothing to serve, answers at once while it backs off: 20 looping consumers cost one request per back-off and one log line', async () => {
    const { endpoints, source, logged } = await start({ roles: [{ arn: AWS_ROLE }] })
    const expiresAt = Date.parse(JSON.parse((await getAws(endpoints)).body).Expiration)
    // The grant was deleted, and the held credentials have expired: nothing to serve.
    source.failWith = refusals('PermissionDenied', 'no grant on this role')
    source.now = expiresAt
    const before = source.calls.length

    // 20 consumers, each asking again as soon as it is answered (the reviewer's loop).
    const answers = (
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const got = []
          for (let i = 0; i < 10; i++) got.push(await getAws(endpoints))
          return got
        }),
      )
    ).flat()
    expect(answers).toHaveLength(200)
    for (const answer of answers) {
      expect(answer.status).toBe(503)
      expect(answer.headers.get('retry-after')).toBe('1')
      expect(JSON.parse(answer.body).Message).toContain('(PermissionDenied)')
    }
    // One request to the server (one audited refusal, no STS call each), one line in the log.
    expect(source.calls.length - before).toBe(1)
    expect(logged).toEqual([
      `${AWS_ROLE}: cannot obtain credentials: PermissionDenied: no grant on this role (request id req_1); no credentials to serve (503 until the server answers)`,
    ])
    expect(endpoints.stats().unavailable).toBe(200)

    // Each back-off over, one request; the next waits twice as long, up to 30 s. The same failure
    // (another request id) is not logged again.
    let wait = 1
    for (const next of [2, 4, 8, 16, 30, 30]) {
      source.now += wait * 1000 - 1
      const early = await getAws(endpoints)
      expect(early.headers.get('retry-after')).toBe('1')
      source.now += 1
      const asked = await getAws(endpoints)
      expect(asked.status).toBe(503)
      expect(asked.headers.get('retry-after')).toBe(String(next))
      wait = next
    }
    expect(source.calls.length - before).toBe(7)
    expect(logged).toHaveLength(1)

    // Another failure is logged, with the count so far.
    source.failWith = stsUnavailable
    source.now += 30_000
    expect((await getAws(endpoints)).status).toBe(503)
    expect(logged).toHaveLength(2)
    expect(logged[1]).toMatch(/: StsUnavailable: .*; no credentials to serve .*\(8 failures in a row\)$/)

    // Back: served at once, one line with the count, and the back-off starts again from 1 s.
    source.failWith = undefined
    source.now += 30_000
    const back = await getAws(endpoints)
    expect(back.status).toBe(200)
    expect(logged[2]).toBe(`${AWS_ROLE}: credentials obtained again after 8 failures`)
    source.failWith = stsUnavailable
    source.now = Date.parse(JSON.parse(back.body).Expiration)
    const again = await getAws(endpoints)
    expect(again.headers.get('retry-after')).toBe('1')
    expect(logged).toHaveLength(4)
  })

  it('backs off too when credentials arrive already expired (a clock far behind)', async () => {
    const { endpoints, source, logged } = await start({ roles: [{ arn: AWS_ROLE }] })
    source.now += HOUR
    source.lifetimeMs = 0
    const before = source.calls.length
    for (let i = 0; i < 20; i++) expect((await getAws(endpoints)).status).toBe(503)
    expect(source.calls.length - before).toBe(1)
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatch(/too few to use: is this host's clock right\?; no credentials to serve/)
  })

  it('answers with the held credentials when the source is slow, and the fetch goes on', async () => {
    const { endpoints, source } = await start({ roles: [{ arn: AWS_ROLE }], answerWithinMs: 50 })
    const held = JSON.parse((await getAws(endpoints)).body).AccessKeyId
    let open!: () => void
    source.gate = new Promise<void>((resolve) => {
      open = resolve
    })
    source.now += HOUR - 30_000 // nothing usable in the SDK's cache: a fetch, which hangs
    const started = Date.now()
    const answer = await getAws(endpoints)
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(JSON.parse(answer.body).AccessKeyId).toBe(held)
    source.gate = undefined
    open()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(JSON.parse((await getAws(endpoints)).body).AccessKeyId).not.toBe(held)
  })

  it('refreshes ahead of expiry when nobody asks, and logs a failed background refresh', async () => {
    const { source, logged } = await start({ roles: [{ arn: AWS_ROLE }], checkEveryMs: 10 })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(source.calls).toHaveLength(1) // fresh: nothing to do
    source.now += HOUR - 14 * MINUTE
    await expect.poll(() => source.calls.length).toBe(2)
    source.now += HOUR - 14 * MINUTE
    source.failWith = stsUnavailable
    await expect.poll(() => logged.length).toBe(1)
    expect(logged[0]).toMatch(
      /^arn:aws:iam::123456789012:role\/deployer: cannot obtain credentials: StsUnavailable/,
    )
  })

  it('closes: the port stops answering and the timer stops', async () => {
    const { endpoints, source } = await start({ checkEveryMs: 10 })
    await endpoints.close()
    await endpoints.close()
    await expect(fetch(alibabaUri(endpoints))).rejects.toThrow()
    const calls = source.calls.length
    source.now += 2 * HOUR
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(source.calls.length).toBe(calls)
  })

  it('never lets a secret reach the log, even in an error message', async () => {
    const source = fakeSource()
    const { endpoints, logged } = await start({ source, roles: [{ arn: AWS_ROLE }] })
    const secret = secretOf('aws', 1)
    source.failWith = () => Object.assign(new Error(`upstream said ${secret} and ${tokenOf('aws', 1)}`))
    source.now += HOUR - 30_000
    await getAws(endpoints)
    expect(logged).toHaveLength(1)
    expect(logged[0]).not.toContain(secret)
    expect(logged[0]).toContain('[redacted]')
  })
})

describe('parseLoopbackListen', () => {
  it('takes loopback addresses only', () => {
    expect(parseLoopbackListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 })
    expect(parseLoopbackListen('127.5.6.7:9911')).toEqual({ host: '127.5.6.7', port: 9911 })
    expect(parseLoopbackListen('localhost:80')).toEqual({ host: '127.0.0.1', port: 80 })
    expect(parseLoopbackListen('[::1]:65535')).toEqual({ host: '::1', port: 65535 })
    for (const text of [
      '0.0.0.0:1',
      '[::]:1',
      '10.0.0.1:1',
      '128.0.0.1:1',
      'my-host:1',
      ':8080',
      '[::ffff:127.0.0.1]:1',
    ])
      expect(() => parseLoopbackListen(text), text).toThrow(/loopback only/)
    for (const text of ['127.0.0.1', '127.0.0.1:65536', '127.0.0.1:-1', '127.0.0.1:x', ''])
      expect(() => parseLoopbackListen(text), text).toThrow(/is not HOST:PORT/)
  })

  it('knows a loopback address as sockets report it', () => {
    for (const address of ['127.0.0.1', '127.255.0.9', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackAddress(address), address).toBe(true)
    for (const address of ['0.0.0.0', '::', '192.0.2.2', 'fd00::2', '::ffff:10.0.0.1', 'localhost'])
      expect(isLoopbackAddress(address), address).toBe(false)
  })
})
