import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { call, openTestServer, type TestServer } from '../support/engines.js'

function collector() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  return { lines, stream }
}

describe('log levels', () => {
  let t: TestServer | undefined
  afterEach(async () => t?.close())

  const run = async (level: string) => {
    const log = collector()
    t = await openTestServer('sqlite', { app: { logger: { level, stream: log.stream } } })
    await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credentials`, {
      credentialIdentifier: 'log/key',
      credentialType: 'api_key',
      value: { apiKey: 'canary-log-level-value' },
    })
    await call(t, 'GET', '/admin/v1/whoami')
    return { log, text: JSON.stringify(log.lines), token: t.adminToken }
  }

  it('info: one line per request, without route or actor', async () => {
    const { log } = await run('info')
    const completed = log.lines.filter((l) => l.msg === 'request completed')
    expect(completed).toHaveLength(2)
    expect(completed[0]).not.toHaveProperty('route')
    expect(log.lines.some((l) => l.msg === 'request received')).toBe(false)
  })

  it('debug: the route matched and the actor authenticated, never the token or a value', async () => {
    const { log, text, token } = await run('debug')
    const whoami = log.lines.find((l) => l.msg === 'request completed' && l.path === '/admin/v1/whoami')
    expect(whoami).toMatchObject({
      route: '/admin/v1/whoami',
      actor: expect.stringMatching(/^admin_token:atk_/),
    })
    const created = log.lines.find((l) => l.msg === 'request completed' && l.statusCode === 201)
    expect(created).toMatchObject({ route: '/admin/v1/instances/:instanceId/credentials' })
    expect(text).not.toContain(token)
    expect(text).not.toContain('canary-log-level-value')
  })

  it('trace: also a line when each request arrives, with its declared body length', async () => {
    const { log, text, token } = await run('trace')
    const received = log.lines.filter((l) => l.msg === 'request received')
    expect(received).toHaveLength(2)
    expect(received[0]).toMatchObject({ method: 'POST', contentLength: expect.any(String) })
    expect(text).not.toContain(token)
    expect(text).not.toContain('canary-log-level-value')
  })
})
