// Application keys as an attacker's review found them (OCI request signatures and private_key_jwt
// share them): an RSA key with e = 1, whose signatures anyone can forge from the public key alone,
// was registered and then verified forged requests; the same public key could be registered twice,
// so removing one entry left it working; and the 401 told a caller without the key whether an
// application holds a given public key.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ociFingerprint } from '../../src/oci/fingerprint.js'
import { ENGINES } from '../support/engines.js'
import {
  type BoundTokenServer,
  bindingKeyOf,
  newKey,
  openBoundTokenServer,
  PAM,
  send,
} from './bound-tokens-support.js'
import { newRsaKey, ociPath, post, registerOciKey, SCOPED_PATH, signedHeaders } from './oci-support.js'

/** SHA-256's DigestInfo prefix (RFC 8017 §9.2). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex')

/** What an RSASSA-PKCS1-v1_5 signature is for a public exponent of 1: the padded digest itself. */
function forgedForExponentOne(n: string, input: string): Buffer {
  const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, createHash('sha256').update(input).digest()])
  const length = Buffer.from(n, 'base64url').length
  return Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.alloc(length - digestInfo.length - 3, 0xff),
    Buffer.from([0]),
    digestInfo,
  ])
}

describe.each(ENGINES)('application keys on %s', (engine) => {
  let b: BoundTokenServer
  beforeAll(async () => {
    b = await openBoundTokenServer(engine)
  })
  afterAll(async () => b?.close())

  const keysPath = () => `/admin/v1/instances/${b.t.instanceId}/applications/${b.app.applicationId}/keys`
  const modulus = () =>
    (generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as { n: string })
      .n

  it('refuses an RSA key whose public exponent is 1, 3, even or 2³² + 1, naming the field', async () => {
    // 1, 3, 65,536 and 4,294,967,297, big-endian and base64url as JWK's `e`.
    for (const e of ['AQ', 'Aw', 'AQAA', 'AQAAAAE']) {
      const refused = await send(b.t, 'POST', keysPath(), b.t.auth, { jwk: { kty: 'RSA', n: modulus(), e } })
      expect(refused.status).toBe(400)
      expect(refused.body).toMatchObject({ field: 'jwk' })
      expect(refused.body.rule).toMatch(/public exponent is not an odd number from 65537/)
    }
  })

  it('refuses an RSASSA-PSS key as a 400 naming the field, not a 500', async () => {
    const pem = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString()
    const refused = await send(b.t, 'POST', keysPath(), b.t.auth, { pem })
    expect(refused.status).toBe(400)
    expect(refused.body).toMatchObject({ field: 'pem' })
    expect(refused.body.rule).toMatch(/RSASSA-PSS/)
  })

  it('refuses forged signatures of an e = 1 key stored before registration refused such keys', async () => {
    const n = modulus()
    const weak = { kty: 'RSA', n, e: 'AQ' }
    // As a database from before the rule would hold it.
    await b.t.services.store.db
      .insertInto('application_keys')
      .values({
        id: `apk_weak_${engine}`,
        instance_id: b.t.instanceId,
        application_id: b.app.applicationId,
        kid: `weak-${engine}`,
        public_jwk: JSON.stringify(weak),
        created_at: b.clock.now,
      })
      .execute()
    // The attacker holds no private key: an OCI request with the padded digest as its signature.
    const body = JSON.stringify({
      scope: `${PAM}|credential:obtain`,
      publicKey: (bindingKeyOf(await newKey('ES256'), 'pem') as { pem: string }).pem,
    })
    const url = new URL(b.t.services.publicUrl)
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'x-content-sha256': createHash('sha256').update(body).digest('base64'),
      'x-date': new Date(b.clock.now).toUTCString(),
    }
    const signed = [
      'x-date',
      '(request-target)',
      'host',
      'content-length',
      'content-type',
      'x-content-sha256',
    ]
    const target = `${url.pathname.replace(/\/+$/, '')}${ociPath(b, SCOPED_PATH)}`
    const text = signed
      .map((h) =>
        h === '(request-target)'
          ? `(request-target): post ${target}`
          : h === 'host'
            ? `host: ${url.host}`
            : `${h}: ${headers[h]}`,
      )
      .join('\n')
    headers.authorization = `Signature version="1",keyId="${b.t.instanceId}/${b.app.applicationId}/${ociFingerprint(weak)}",algorithm="rsa-sha256",headers="${signed.join(' ')}",signature="${forgedForExponentOne(n, text).toString('base64')}"`
    const oci = await post(b.t, ociPath(b, SCOPED_PATH), headers, body)
    expect(oci.status).toBe(401)

    // The same key as a private_key_jwt client assertion at the token endpoint.
    const base = `/v2/${b.t.instanceId}/authorizationServer/iauths_system`
    const now = Math.floor(b.clock.now / 1000)
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const input = `${part({ alg: 'RS256', typ: 'JWT', kid: `weak-${engine}` })}.${part({
      iss: b.app.clientId,
      sub: b.app.clientId,
      aud: `${b.t.services.publicUrl}${base}/oauth2/token`,
      jti: `forged-${engine}`,
      iat: now,
      exp: now + 120,
    })}`
    const token = await b.t.app.inject({
      method: 'POST',
      url: `${base}/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: b.app.clientId,
        scope: `${PAM}|.all`,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: `${input}.${forgedForExponentOne(n, input).toString('base64url')}`,
      }).toString(),
    })
    expect(token.statusCode).toBe(401)
    expect(token.body).not.toContain('access_token')
  })

  it('refuses to register a public key the application already holds, under any kid or form', async () => {
    const rsa = newRsaKey()
    const first = await registerOciKey(b, rsa)
    const jwk = createPublicKey(rsa.publicPem).export({ format: 'jwk' })
    const again = await send(b.t, 'POST', keysPath(), b.t.auth, {
      jwk: { ...jwk, kid: 'for-private-key-jwt' },
    })
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({ field: 'jwk' })
    expect(again.body.Message).toContain('already has this public key')
    // One key twice in one request: the second refused, and the first not written either.
    const other = createPublicKey(newRsaKey().publicPem).export({ format: 'jwk' })
    const twice = await send(b.t, 'POST', keysPath(), b.t.auth, {
      jwks: {
        keys: [
          { ...other, kid: 'one' },
          { ...other, kid: 'two' },
        ],
      },
    })
    expect(twice.status).toBe(409)
    expect(twice.body).toMatchObject({ field: 'jwks.keys.1' })
    const listed = await send(b.t, 'GET', keysPath(), b.t.auth)
    const kids = listed.body.entities.map((k: { kid: string }) => k.kid)
    expect(kids).not.toContain('one')
    const sameKey = listed.body.entities.filter(
      (k: { ociFingerprint?: string }) => k.ociFingerprint === first.fingerprint,
    )
    expect(sameKey).toHaveLength(1)
    // Removed, it is gone: no other entry of it signs.
    expect((await send(b.t, 'DELETE', `${keysPath()}/${first.applicationKeyId}`, b.t.auth)).status).toBe(204)
    b.clock.now += 1_000
    const text = JSON.stringify({
      scope: `${PAM}|credential:obtain`,
      publicKey: (bindingKeyOf(await newKey('ES256'), 'pem') as { pem: string }).pem,
    })
    const after = await post(
      b.t,
      ociPath(b, SCOPED_PATH),
      await signedHeaders(b, first, SCOPED_PATH, text),
      text,
    )
    expect(after.status).toBe(401)
  })

  it('answers an unknown key and a signature that does not verify with a known one alike', async () => {
    const key = await registerOciKey(b)
    const text = JSON.stringify({
      scope: `${PAM}|credential:obtain`,
      publicKey: (bindingKeyOf(await newKey('ES256'), 'pem') as { pem: string }).pem,
    })
    const stranger = newRsaKey().privatePem
    const unknown = await post(
      b.t,
      ociPath(b, SCOPED_PATH),
      await signedHeaders(b, key, SCOPED_PATH, text, {
        keyId: { user: 'app_00000000000000000000000000' },
        privatePem: stranger,
      }),
      text,
    )
    const forged = await post(
      b.t,
      ociPath(b, SCOPED_PATH),
      await signedHeaders(b, key, SCOPED_PATH, text, { privatePem: stranger }),
      text,
    )
    expect(unknown.status).toBe(401)
    expect(forged.status).toBe(401)
    expect(forged.raw).toBe(unknown.raw)
  })
})
