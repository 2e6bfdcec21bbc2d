import { format, inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { obtainedPassword, obtainedSshKey } from './account-fixtures.js'
import { clientWith, INSTANCE, tokenRecord } from './support.js'

const SECRETS = {
  apiKey: 'canary-api-key-5d1f',
  clientSecret: 'canary-client-secret-77aa',
  password: 'canary-password-0b9e',
  privateKey: 'canary-private-key-c3d2',
  passphrase: 'canary-passphrase-e4f1',
  jwt: 'canary.jwt-value.9a8b',
  short: 'sk-canary-short-6c7d',
  access: 'canary-upstream-access-1e2f',
}

function printed(value: unknown): string[] {
  return [
    inspect(value),
    inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }),
    // Without the hook Node shows the getters, but not their values unless also asked to run them.
    inspect(value, { customInspect: false, showHidden: true, depth: Number.POSITIVE_INFINITY }),
    format('%o %O %s %j', value, value, value, value),
    JSON.stringify(value),
    JSON.stringify({ nested: [value] }),
    JSON.stringify(structuredClone(value)),
    JSON.stringify({ ...(value as object) }),
    String(Object.values(value as object)),
  ]
}

function expectNoSecret(value: unknown) {
  for (const text of printed(value)) {
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret)
  }
}

describe('secrets in results print [REDACTED] and stay readable as properties', () => {
  it('a credential', async () => {
    const { client } = clientWith(() =>
      Response.json({
        credentialId: 'cred_01',
        credentialIdentifier: 'demo/all',
        credentialName: 'All',
        credentialType: 'api_key',
        status: 'enabled',
        description: '',
        instanceId: INSTANCE,
        createTime: 1,
        updateTime: 2,
        credentialContent: {
          apiKeyContent: { apiKey: SECRETS.apiKey },
          oauthClientContent: { clientId: 'visible-client-id', clientSecret: SECRETS.clientSecret },
          passwordContent: { password: SECRETS.password, username: 'visible-user' },
          sshKeyContent: {
            privateKey: SECRETS.privateKey,
            passphrase: SECRETS.passphrase,
            publicKey: 'ssh-ed25519 P',
          },
        },
      }),
    )
    const credential = await client.obtainCredential('demo/all')
    expectNoSecret(credential)
    const json = JSON.parse(JSON.stringify(credential))
    expect(json).toMatchObject({
      credentialId: 'cred_01',
      createTime: 1,
      updateTime: 2,
      credentialContent: {
        apiKeyContent: { apiKey: '[REDACTED]' },
        oauthClientContent: { clientId: 'visible-client-id', clientSecret: '[REDACTED]' },
        passwordContent: { username: 'visible-user', password: '[REDACTED]' },
        sshKeyContent: { privateKey: '[REDACTED]', passphrase: '[REDACTED]', publicKey: 'ssh-ed25519 P' },
      },
    })
    expect(inspect(credential)).toContain("ApiKeyContent { apiKey: '[REDACTED]' }")
    expect(inspect(credential)).toContain("clientId: 'visible-client-id'")
    const content = credential.credentialContent
    expect(content.apiKeyContent?.apiKey).toBe(SECRETS.apiKey)
    expect(content.oauthClientContent?.clientSecret).toBe(SECRETS.clientSecret)
    expect(content.passwordContent?.password).toBe(SECRETS.password)
    expect(content.sshKeyContent?.privateKey).toBe(SECRETS.privateKey)
    expect(content.sshKeyContent?.passphrase).toBe(SECRETS.passphrase)
    // The secret is not an own property: spreading or listing keys does not copy it.
    expect(Object.keys(content.apiKeyContent!)).toEqual([])
    expect(Object.isFrozen(content.apiKeyContent)).toBe(true)
    await client.close()
  })

  it('a JWT and an OAuth token, with the record’s ids and times in plain sight', async () => {
    const { client } = clientWith((request) =>
      Response.json(
        request.url.pathname.endsWith('/generateJwt')
          ? { ...tokenRecord(), jwtContent: { jwtValue: SECRETS.jwt, derivedShortToken: SECRETS.short } }
          : {
              ...tokenRecord(),
              oauthAccessTokenContent: { accessTokenValue: SECRETS.access, scope: 's', tokenType: 'Bearer' },
            },
      ),
    )
    const jwt = await client.generateJwtAuthenticationToken({
      credentialProviderIdentifier: 'p',
      subject: 's',
      audiences: ['a'],
    })
    const oauth = await client.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: 'p' })
    expectNoSecret(jwt)
    expectNoSecret(oauth)
    expect(JSON.parse(JSON.stringify(jwt))).toEqual({
      ...tokenRecord(),
      jwtContent: { jwtValue: '[REDACTED]', derivedShortToken: '[REDACTED]' },
    })
    expect(JSON.parse(JSON.stringify(oauth))).toMatchObject({
      authenticationTokenId: 'atntkn_01',
      expirationTime: 1_700_000_600_000,
      oauthAccessTokenContent: { accessTokenValue: '[REDACTED]', scope: 's', tokenType: 'Bearer' },
    })
    expect(inspect(jwt)).toContain("authenticationTokenId: 'atntkn_01'")
    expect(inspect(jwt)).toContain("JwtContent { jwtValue: '[REDACTED]', derivedShortToken: '[REDACTED]' }")
    expect(jwt.jwtContent.jwtValue).toBe(SECRETS.jwt)
    expect(jwt.jwtContent.derivedShortToken).toBe(SECRETS.short)
    expect(oauth.oauthAccessTokenContent?.accessTokenValue).toBe(SECRETS.access)
    await client.close()
  })

  it('an account’s password and SSH key, with the account and the key’s public facts in plain sight', async () => {
    const { client } = clientWith((request) =>
      Response.json(
        request.url.pathname.endsWith('/obtainPassword')
          ? obtainedPassword({ password: SECRETS.password })
          : obtainedSshKey({ key: SECRETS.privateKey, passphrase: SECRETS.passphrase }),
      ),
    )
    const password = await client.obtainPassword('DB-SERVER/admin')
    const sshKey = await client.getSshKey('web-01/deploy')
    expectNoSecret(password)
    expectNoSecret(sshKey)
    expect(JSON.parse(JSON.stringify(password))).toEqual({
      accountId: 'acct_01',
      accountName: 'DB-SERVER/admin',
      version: 3,
      password: '[REDACTED]',
    })
    expect(JSON.parse(JSON.stringify(sshKey))).toEqual({
      accountId: 'acct_02',
      accountName: 'web-01/deploy',
      version: 1,
      decrypted: false,
      format: null,
      fileName: 'id_ed25519',
      keyType: 'ssh-ed25519',
      fingerprint: 'SHA256:visible-fingerprint',
      publicKey: 'ssh-ed25519 AAAAvisible deploy@web-01',
      key: '[REDACTED]',
      passphrase: '[REDACTED]',
    })
    expect(inspect(sshKey)).toMatch(/^SshKey \{/)
    expect(inspect(sshKey)).toContain("fingerprint: 'SHA256:visible-fingerprint'")
    expect(password.password).toBe(SECRETS.password)
    expect(sshKey.key).toBe(SECRETS.privateKey)
    expect(sshKey.passphrase).toBe(SECRETS.passphrase)
    expect(Object.keys(sshKey)).not.toContain('key')
    await client.close()
  })

  it('the client itself prints where it points, never the access token', async () => {
    const { client } = clientWith(() => Response.json({ ...tokenRecord(), jwtContent: { jwtValue: 'x' } }))
    await client.obtainJwtAuthenticationToken({ consumerId: 'c', authenticationTokenId: 'a' })
    for (const text of [inspect(client, { showHidden: true, getters: true }), JSON.stringify(client)]) {
      expect(text).not.toContain('access-1')
    }
    expect(JSON.parse(JSON.stringify(client))).toEqual({
      instanceId: INSTANCE,
      endpoint: 'https://pam.example.test',
      provider: 'counting',
      cached: true,
      closed: false,
    })
    await client.close()
  })
})
