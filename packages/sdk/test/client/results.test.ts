import { describe, expect, it } from 'vitest'
import { ServerError, ValidationError } from '../../src/errors.js'
import { clientWith, INSTANCE, rejectionOf, tokenRecord } from './support.js'

const credential = (content: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  credentialId: 'cred_01',
  credentialIdentifier: 'demo/oauth',
  credentialName: 'Demo',
  credentialType: 'oauth_client',
  status: 'enabled',
  description: 'd',
  instanceId: INSTANCE,
  createTime: 1_700_000_000_000,
  updateTime: 1_700_000_000_001,
  credentialContent: content,
  ...extra,
})

describe('PamClient results', () => {
  it('maps an obtained credential: metadata as on the wire, every content kind, unknown fields dropped', async () => {
    const { client } = clientWith(() =>
      Response.json(
        credential(
          {
            oauthClientContent: { clientId: 'cid', clientSecret: 'csecret' },
            passwordContent: { password: 'pw', username: 'root' },
            sshKeyContent: { privateKey: 'PRIVATE', passphrase: 'pp', publicKey: 'ssh-ed25519 AAA' },
          },
          { credentialCreationType: 'user_custom', somethingNew: 'ignored', exclusiveUserId: null },
        ),
      ),
    )
    const c = await client.obtainCredential('demo/oauth')
    expect(c).toMatchObject({
      credentialId: 'cred_01',
      credentialIdentifier: 'demo/oauth',
      credentialType: 'oauth_client',
      status: 'enabled',
      description: 'd',
      instanceId: INSTANCE,
      createTime: 1_700_000_000_000,
      updateTime: 1_700_000_000_001,
      credentialCreationType: 'user_custom',
      exclusiveUserId: undefined,
    })
    expect(c).not.toHaveProperty('somethingNew')
    expect(c.credentialContent.apiKeyContent).toBeUndefined()
    expect(c.credentialContent.oauthClientContent?.clientId).toBe('cid')
    expect(c.credentialContent.oauthClientContent?.clientSecret).toBe('csecret')
    expect(c.credentialContent.passwordContent?.username).toBe('root')
    expect(c.credentialContent.passwordContent?.password).toBe('pw')
    expect(c.credentialContent.sshKeyContent?.privateKey).toBe('PRIVATE')
    expect(c.credentialContent.sshKeyContent?.passphrase).toBe('pp')
    expect(c.credentialContent.sshKeyContent?.publicKey).toBe('ssh-ed25519 AAA')
    expect(Object.isFrozen(c)).toBe(true)
    await client.close()
  })

  it('getApiKey answers the key, and a ValidationError for a credential without one', async () => {
    const { client } = clientWith((_r, i) =>
      Response.json(
        i === 0
          ? credential({ apiKeyContent: { apiKey: 'k-123' } }, { credentialType: 'api_key' })
          : credential({ oauthClientContent: { clientId: 'cid', clientSecret: 'csecret' } }),
      ),
    )
    expect(await client.getApiKey('demo/api-key')).toBe('k-123')
    const error = await rejectionOf(client.getApiKey('demo/oauth'))
    expect(error).toBeInstanceOf(ValidationError)
    expect(error).toMatchObject({ code: 'ERR_PAM_VALIDATION', field: 'credentialIdentifier' })
    expect(String(error)).toContain('oauth_client')
    expect(String(error)).not.toContain('csecret')
    await client.close()
  })

  it('maps JWT and OAuth token results, times in epoch milliseconds', async () => {
    const { client } = clientWith((request) =>
      request.url.pathname.endsWith('/fetchOAuthAccessToken')
        ? Response.json({
            ...tokenRecord({ authenticationTokenType: 'oauth_access_token' }),
            oauthAccessTokenContent: { accessTokenValue: 'up-token', scope: 'read', tokenType: 'Bearer' },
          })
        : Response.json({ ...tokenRecord(), jwtContent: { jwtValue: 'eyJ.a.b' } }),
    )
    const jwt = await client.obtainJwtAuthenticationToken({
      consumerId: 'app_demo',
      authenticationTokenId: 'atntkn_01',
    })
    expect(jwt).toMatchObject(tokenRecord())
    expect(jwt.jwtContent.jwtValue).toBe('eyJ.a.b')
    expect(jwt.jwtContent.derivedShortToken).toBeUndefined()
    const oauth = await client.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: 'up' })
    expect(oauth).toMatchObject({
      authenticationTokenType: 'oauth_access_token',
      expirationTime: 1_700_000_600_000,
    })
    expect(oauth.oauthAccessTokenContent?.accessTokenValue).toBe('up-token')
    expect(oauth.oauthAccessTokenContent).toMatchObject({ scope: 'read', tokenType: 'Bearer' })
    expect(oauth.oauthAuthorizationSession).toBeUndefined()
    await client.close()
  })

  it('keeps an authorization session when a user must authorize first', async () => {
    const session = {
      authorizationUrl: 'https://auth/x',
      sessionId: 's1',
      sessionStatus: 'pending',
      sessionUri: 'u',
    }
    const { client } = clientWith(() =>
      Response.json({ ...tokenRecord(), oauthAuthorizationSession: session }),
    )
    const result = await client.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: 'up' })
    expect(result.oauthAccessTokenContent).toBeUndefined()
    expect(result.oauthAuthorizationSession).toEqual(session)
    await client.close()
  })

  it('validate answers the boolean; revoke and reinstate ignore the body, empty or not', async () => {
    const { client } = clientWith((request) =>
      request.url.pathname.endsWith('/validate') ? Response.json({ active: false }) : new Response(null),
    )
    expect(await client.validateAuthenticationToken('t')).toBe(false)
    await expect(client.revokeAuthenticationToken('t')).resolves.toBeUndefined()
    await expect(client.reinstateAuthenticationToken('t')).resolves.toBeUndefined()
    await client.close()
  })

  it('a body that is not the contract’s shape is a ServerError naming the field, never its value', async () => {
    const { client } = clientWith((_r, i) =>
      i === 0
        ? Response.json({
            ...tokenRecord({ createTime: '2024-01-01T00:00:00Z' }),
            jwtContent: { jwtValue: 'SECRETJWT' },
          })
        : Response.json({ ...tokenRecord(), jwtContent: { jwtValue: 42 } }),
    )
    const shortToken = 'sk-abc'
    const first = await rejectionOf(client.obtainJwtAuthenticationTokenByDerivedShortToken(shortToken))
    expect(first).toBeInstanceOf(ServerError)
    expect((first as Error).message).toBe(
      'ObtainJwtAuthenticationTokenByDerivedShortToken answered with an unexpected body: createTime is not a number',
    )
    const second = await rejectionOf(client.obtainJwtAuthenticationTokenByDerivedShortToken(shortToken))
    expect((second as Error).message).toContain('jwtContent.jwtValue is not a string')
    for (const e of [first, second]) expect(String(e)).not.toMatch(/SECRETJWT|sk-abc/)
    await client.close()
  })
})
