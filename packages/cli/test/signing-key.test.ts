import type { SigningKey } from '@strongroom/protocol'
import { describe, expect, it } from 'vitest'
import { run } from '../src/program.js'
import { fakeFetch, fakeIo } from './fake-io.js'

const INSTANCE = 'idaas_00000000000000000000000000'
const env = {
  STRONGROOM_URL: 'http://sr.test',
  STRONGROOM_ADMIN_TOKEN: 'srat_TOKEN',
  STRONGROOM_INSTANCE: INSTANCE,
}
const base = `/admin/v1/instances/${INSTANCE}/signing-keys`
const KID = 'Xy_-0123456789abcdefghijklmnopqrstuvwxyzABC'
const revoked: SigningKey = {
  kid: KID,
  alg: 'EdDSA',
  status: 'revoked',
  createTime: 0,
  activateTime: 0,
  retireTime: 1000,
  unpublishTime: 2000,
  revokedTime: 2000,
  revokedReason: 'INC-4711',
}

describe('strongroom signing-key revoke', () => {
  it('posts the reason to the key and shows it revoked', async () => {
    const { fetch, requests } = fakeFetch({ [`POST ${base}/${KID}/revoke`]: [200, revoked] })
    const io = fakeIo({ env, fetch })
    expect(await run(['signing-key', 'revoke', KID, '--reason', 'INC-4711'], io)).toBe(0)
    expect(requests.map((r) => [r.method, r.url.pathname, r.body])).toEqual([
      ['POST', `${base}/${KID}/revoke`, { reason: 'INC-4711' }],
    ])
    expect(io.stdout.text).toMatch(/^KID\s+ALG\s+STATUS\s+ACTIVATES\s+RETIRES\s+UNPUBLISHED\s+REVOKED\n/)
    expect(io.stdout.text).toContain(`${KID}  EdDSA  revoked`)
    expect(io.stderr.text).toContain('no token it signed is accepted')

    const json = fakeIo({ env, fetch })
    expect(await run(['signing-key', 'revoke', KID, '--reason', 'INC-4711', '--json'], json)).toBe(0)
    expect(JSON.parse(json.stdout.text)).toEqual([revoked])
  })

  it('requires --reason', async () => {
    const { fetch, requests } = fakeFetch({})
    const io = fakeIo({ env, fetch })
    expect(await run(['signing-key', 'revoke', KID], io)).toBe(2)
    expect(io.stderr.text).toMatch(/required option '--reason <text>'/)
    expect(requests).toEqual([])
  })

  it('prints the refusal to revoke the active key as one line and exits 1', async () => {
    const message = `signing key ${KID} is the instance's active key, and no other key signs yet: rotate first`
    const { fetch } = fakeFetch({
      [`POST ${base}/${KID}/revoke`]: [409, { Code: 'Conflict', Message: message, RequestId: 'req_9' }],
    })
    const io = fakeIo({ env, fetch })
    expect(await run(['signing-key', 'revoke', KID, '--reason', 'x'], io)).toBe(1)
    expect(io.stderr.text).toBe(`strongroom: Conflict: ${message} (request req_9)\n`)
    expect(io.stdout.text).toBe('')
  })
})
