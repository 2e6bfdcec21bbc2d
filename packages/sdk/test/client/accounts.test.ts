import { describe, expect, it } from 'vitest'
import { ServerError } from '../../src/errors.js'
import {
  accountSummary,
  obtainedPassword,
  obtainedSshKey,
  PASSPHRASE,
  PASSWORD,
  PRIVATE_KEY,
} from './account-fixtures.js'
import { BASE, clientWith, connectionReset, rejectionOf } from './support.js'

const ACTIONS = `${BASE}/accounts/_/actions`

describe('PamClient account operations', () => {
  it('getPassword POSTs the name and the reason with the bearer token, and answers the password', async () => {
    const { client, fake } = clientWith(() => Response.json(obtainedPassword()))
    const password = await client.getPassword('DB-SERVER/admin', { reason: 'INC-4711' })
    expect(password).toBe(PASSWORD)
    const [request] = fake.requests
    expect(request?.method).toBe('POST')
    expect(request?.url.href).toBe(`${ACTIONS}/obtainPassword`)
    expect(request?.json).toEqual({ accountName: 'DB-SERVER/admin', reason: 'INC-4711' })
    expect(request?.headers.get('authorization')).toBe('Bearer access-1')
    expect(request?.headers.get('content-type')).toBe('application/json; charset=utf-8')
    // strongroom's own operations are not IDaaS actions.
    expect(request?.headers.get('x-acs-action')).toBeNull()
    expect(request?.headers.get('x-acs-version')).toBeNull()
    await client.close()
  })

  it('obtainPassword answers the account, the version and the password; no reason, no field', async () => {
    const { client, fake } = clientWith(() => Response.json({ ...obtainedPassword(), extra: 'x' }))
    const obtained = await client.obtainPassword('DB-SERVER/admin')
    expect(fake.requests[0]?.json).toEqual({ accountName: 'DB-SERVER/admin' })
    expect(obtained).toMatchObject({ accountId: 'acct_01', accountName: 'DB-SERVER/admin', version: 3 })
    expect(obtained.password).toBe(PASSWORD)
    expect(Object.keys(obtained)).toEqual(['accountId', 'accountName', 'version'])
    expect(Object.isFrozen(obtained)).toBe(true)
    await client.close()
  })

  it('getSshKey sends decrypt and reason, and answers the key with its facts', async () => {
    const { client, fake } = clientWith(() => Response.json(obtainedSshKey()))
    const sshKey = await client.getSshKey('web-01/deploy', { decrypt: false, reason: 'deploy' })
    expect(fake.requests[0]?.url.href).toBe(`${ACTIONS}/obtainSshKey`)
    expect(fake.requests[0]?.json).toEqual({ accountName: 'web-01/deploy', reason: 'deploy', decrypt: false })
    expect(fake.requests[0]?.headers.get('authorization')).toBe('Bearer access-1')
    expect(sshKey).toMatchObject({
      accountId: 'acct_02',
      accountName: 'web-01/deploy',
      version: 1,
      decrypted: false,
      format: null,
      fileName: 'id_ed25519',
      keyType: 'ssh-ed25519',
      fingerprint: 'SHA256:visible-fingerprint',
      publicKey: 'ssh-ed25519 AAAAvisible deploy@web-01',
    })
    expect(sshKey.key).toBe(PRIVATE_KEY)
    expect(sshKey.passphrase).toBe(PASSPHRASE)
    await client.close()
  })

  it('a decrypted key has no passphrase and may have no file name', async () => {
    const { client, fake } = clientWith(() =>
      Response.json(obtainedSshKey({ decrypted: true, passphrase: null, fileName: null, key: 'PEM' })),
    )
    const sshKey = await client.getSshKey('web-01/deploy', { decrypt: true })
    expect(fake.requests[0]?.json).toEqual({ accountName: 'web-01/deploy', decrypt: true })
    expect(sshKey).toMatchObject({ decrypted: true, format: 'pem', fileName: null })
    expect(sshKey.passphrase).toBeNull()
    expect(sshKey.key).toBe('PEM')
    await client.close()
  })

  it('getSshKey sends format with decrypt, and answers the key in that format', async () => {
    const { client, fake } = clientWith(() =>
      Response.json(obtainedSshKey({ decrypted: true, format: 'openssh', passphrase: null, key: 'OPENSSH' })),
    )
    const sshKey = await client.getSshKey('web-01/deploy', { decrypt: true, format: 'openssh' })
    expect(fake.requests[0]?.json).toEqual({ accountName: 'web-01/deploy', decrypt: true, format: 'openssh' })
    expect(sshKey).toMatchObject({ decrypted: true, format: 'openssh' })
    expect(sshKey.key).toBe('OPENSSH')
    await client.close()
  })

  it('a key as stored has no format; a decrypted one without a format field is PEM', async () => {
    const answers = [obtainedSshKey(), obtainedSshKey({ decrypted: true, passphrase: null, key: 'PEM' })]
    const { client } = clientWith((_request, index) => Response.json(answers[index]))
    expect((await client.getSshKey('web-01/deploy')).format).toBeNull()
    expect((await client.getSshKey('web-01/deploy', { decrypt: true, format: 'pem' })).format).toBe('pem')
    await client.close()
  })

  it('format without decrypt: true is a TypeError, and no request is made', async () => {
    const { client, fake } = clientWith(() => Response.json(obtainedSshKey()))
    for (const options of [{ format: 'openssh' }, { decrypt: false, format: 'pem' }] as const) {
      const error = await rejectionOf(client.getSshKey('web-01/deploy', options))
      expect(error).toBeInstanceOf(TypeError)
      expect(error).toMatchObject({
        code: 'ERR_INVALID_ARG_VALUE',
        message: expect.stringContaining('decrypt: true'),
      })
    }
    expect(fake.requests).toHaveLength(0)
    await client.close()
  })

  it('a PEM key answered where openssh was asked (a server that predates format) is a ServerError', async () => {
    const answers = [
      obtainedSshKey({ decrypted: true, passphrase: null, key: PRIVATE_KEY }),
      obtainedSshKey({ decrypted: true, format: 'ppk', passphrase: null, key: PRIVATE_KEY }),
    ]
    const { client } = clientWith((_request, index) => Response.json(answers[index]))
    const ignored = await rejectionOf(client.getSshKey('web-01/deploy', { decrypt: true, format: 'openssh' }))
    expect(ignored).toBeInstanceOf(ServerError)
    expect((ignored as Error).message).toBe(
      'ObtainSshKey answered a pem key where openssh was asked: the server does not support format',
    )
    const unknown = await rejectionOf(client.getSshKey('web-01/deploy', { decrypt: true }))
    expect(unknown).toBeInstanceOf(ServerError)
    expect((unknown as Error).message).toBe(
      'ObtainSshKey answered with an unexpected body: format is not pem or openssh',
    )
    for (const error of [ignored, unknown]) expect(JSON.stringify(error)).not.toContain('canary')
    await client.close()
  })

  it('reads are retried after a reset connection', async () => {
    const { client, fake } = clientWith((_request, index) => {
      if (index === 0) throw connectionReset()
      return Response.json(obtainedPassword())
    })
    expect(await client.getPassword('DB-SERVER/admin')).toBe(PASSWORD)
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('a body that is not the contract’s is a ServerError naming the field, never the value', async () => {
    const { client } = clientWith(() => Response.json({ ...obtainedPassword(), password: 42 }))
    const error = await rejectionOf(client.getPassword('DB-SERVER/admin'))
    expect(error).toBeInstanceOf(ServerError)
    expect((error as Error).message).toBe(
      'ObtainPassword answered with an unexpected body: password is not a string',
    )
    await client.close()
  })

  it('getAccounts GETs every page, 100 at a time, with the bearer token', async () => {
    const pages = [
      { entities: [accountSummary('a/one'), accountSummary('a/two')], nextToken: 'p2', maxResults: 100 },
      {
        entities: [accountSummary('b/three', { hasKey: true, isKeySupported: true })],
        nextToken: null,
        maxResults: 100,
      },
    ]
    const { client, fake } = clientWith((_request, index) => Response.json(pages[index]))
    const accounts = await client.getAccounts()
    expect(accounts.map((a) => a.name)).toEqual(['a/one', 'a/two', 'b/three'])
    expect(accounts[2]).toEqual({
      id: 'acct_bthree',
      name: 'b/three',
      displayName: 'b/three',
      status: 'enabled',
      requiresReason: false,
      hasPassword: true,
      hasKey: true,
      isKeySupported: true,
    })
    expect(fake.requests.map((r) => r.url.href)).toEqual([
      `${BASE}/accounts?maxResults=100`,
      `${BASE}/accounts?nextToken=p2&maxResults=100`,
    ])
    for (const request of fake.requests) {
      expect(request.method).toBe('GET')
      expect(request.headers.get('authorization')).toBe('Bearer access-1')
    }
    expect(Object.isFrozen(accounts)).toBe(true)
    expect(Object.isFrozen(accounts[0])).toBe(true)
    await client.close()
  })

  it('a nextToken answered twice is a ServerError, not an endless loop', async () => {
    const { client, fake } = clientWith(() =>
      Response.json({ entities: [], nextToken: 'same', maxResults: 100 }),
    )
    const error = await rejectionOf(client.getAccounts())
    expect(error).toBeInstanceOf(ServerError)
    expect((error as Error).message).toBe('ListAccounts answered a nextToken it had answered before')
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('an aborted signal stops the call', async () => {
    const { client, fake } = clientWith(() => Response.json(obtainedPassword()))
    const reason = new Error('gave up')
    const error = await rejectionOf(client.getPassword('x/y', { signal: AbortSignal.abort(reason) }))
    expect(error).toBe(reason)
    expect(fake.requests).toHaveLength(0)
    await client.close()
  })

  it('after close every account call rejects with an AbortError', async () => {
    const { client } = clientWith(() => Response.json(obtainedPassword()))
    await client.close()
    for (const call of [client.getPassword('x/y'), client.getSshKey('x/y'), client.getAccounts()]) {
      expect(await rejectionOf(call)).toMatchObject({ name: 'AbortError' })
    }
  })
})
