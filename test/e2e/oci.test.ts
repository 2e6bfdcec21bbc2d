// The official OCI TypeScript SDK (oci-identitydataplane's DataplaneClient, signing with
// oci-common's SimpleAuthenticationDetailsProvider) against `strongroom serve`, with nothing but an
// endpoint override: its key registered with `strongroom app key add`, it gets a scoped access
// token and a user security token that verify against the instance's JWKS and are bound to the
// key it sent; the session refreshes and ends as strongroom's sessions do; and requests the
// official signer signed, then altered on their way, are refused with OCI's NotAuthenticated,
// which the SDK reads into an OciError.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint, createRemoteJWKSet, jwtVerify } from 'jose'
import {
  DefaultRequestSigner,
  type HttpRequest,
  OciError,
  SimpleAuthenticationDetailsProvider,
} from 'oci-common'
import { DataplaneClient } from 'oci-identitydataplane'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProof } from '../../packages/sdk/src/proof/create-proof.js'
import { importProofKey } from '../../packages/sdk/src/proof/proof-key.js'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { cli, ok, okJson } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'
const API = 'https://api.example.com'

function rsaKey(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

/** The RFC 7638 thumbprint of a PEM public key: the `cnf.jkt` a token bound to it carries. */
async function thumbprintOf(publicPem: string): Promise<string> {
  const { createPublicKey } = await import('node:crypto')
  return calculateJwkThumbprint(createPublicKey(publicPem).export({ format: 'jwk' }) as never, 'sha256')
}

/** What changes a signed request on its way: its headers (a `Headers` object) and its body. */
type Alter = (request: { headers: Headers; body: string }) => { headers: Headers; body: string }

/**
 * An `HttpClient` for the OCI client: signs as the SDK's own FetchHttpClient does (oci-common's
 * `DefaultRequestSigner`), then lets the test change the signed request before it is sent, and
 * remembers what it sent so it can be sent again.
 */
class AlteringHttpClient {
  sent: { uri: string; method: string; headers: Headers; body: string }[] = []
  constructor(
    private readonly signer: DefaultRequestSigner,
    private readonly alter: Alter,
    private readonly beforeSigning: (headers: Headers) => void = () => {},
  ) {}

  async send(req: HttpRequest, forceExcludeBody = false): Promise<Response> {
    const body = typeof req.body === 'string' ? req.body : ''
    this.beforeSigning(req.headers)
    await this.signer.signHttpRequest(
      { method: req.method, headers: req.headers, uri: req.uri, body },
      forceExcludeBody,
    )
    const altered = this.alter({ headers: new Headers(req.headers), body })
    this.sent.push({ uri: req.uri, method: req.method, ...altered })
    return fetch(req.uri, { method: req.method, headers: altered.headers, body: altered.body })
  }
}

describe('the official OCI SDK against `strongroom serve`', () => {
  let server: ServerProcess
  let dir: string
  let instanceId: string
  let applicationId: string
  let apiKey: { privatePem: string; publicPem: string; fingerprint: string }
  const clients: DataplaneClient[] = []

  const endpoint = () => `${server.url}/oci/${instanceId}`
  const issuer = () => `${server.url}/v2/${instanceId}/authorizationServer/iauths_system`

  /** The OCI SDK as a user configures it: the key's details, and the endpoint override. */
  function dataplane(
    o: { fingerprint?: string; privatePem?: string; httpClient?: AlteringHttpClient } = {},
  ): DataplaneClient {
    // The SDK takes the provider (and signs with it), or an HttpClient that signs by itself.
    const client = o.httpClient
      ? new DataplaneClient({ httpClient: o.httpClient })
      : new DataplaneClient({ authenticationDetailsProvider: authProvider(o) })
    client.endpoint = endpoint()
    clients.push(client)
    return client
  }
  const authProvider = (o: { fingerprint?: string; privatePem?: string } = {}) =>
    new SimpleAuthenticationDetailsProvider(
      instanceId,
      applicationId,
      o.fingerprint ?? apiKey.fingerprint,
      o.privatePem ?? apiKey.privatePem,
      null,
    )

  beforeAll(async () => {
    server = await startServer()
    dir = await mkdtemp(join(tmpdir(), 'strongroom-oci-'))
    const app = await okJson(server, [
      'app',
      'create',
      '--name',
      'oci',
      '--scope',
      `${PAM}|.all`,
      '--scope',
      `${API}|read`,
    ])
    applicationId = app.applicationId
    instanceId = app.instanceId
    const key = rsaKey()
    await writeFile(join(dir, 'oci_api_key_public.pem'), key.publicPem)
    const added = await okJson(server, [
      'app',
      'key',
      'add',
      applicationId,
      '--file',
      join(dir, 'oci_api_key_public.pem'),
    ])
    expect(added[0]).toMatchObject({
      kty: 'RSA',
      ociFingerprint: expect.stringMatching(/^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/),
    })
    apiKey = { ...key, fingerprint: added[0].ociFingerprint }
  })
  afterAll(async () => {
    for (const client of clients) client.close()
    await server?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('shows the OCI fingerprint and what the SDK needs in the human output of `app key add`', async () => {
    const key = rsaKey()
    const file = join(dir, 'second.pem')
    await writeFile(file, key.publicPem)
    const human = await cli(server, ['app', 'key', 'add', applicationId, '--file', file])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain('OCI FINGERPRINT')
    const listed = await okJson(server, ['app', 'key', 'list', applicationId])
    const second = listed.find((k: { ociFingerprint?: string }) => k.ociFingerprint !== apiKey.fingerprint)
    expect(human.stdout).toContain(second.ociFingerprint)
    expect(human.stderr).toContain(
      `OCI SDK: endpoint ${server.url}/oci/${instanceId}, tenancy ${instanceId}, user ${applicationId}, fingerprint ${second.ociFingerprint}`,
    )
    expect(await ok(server, ['app', 'key', 'list', applicationId])).toContain(apiKey.fingerprint)
  })

  it('gets a scoped access token, verified by the JWKS and bound to the key sent', async () => {
    const bound = rsaKey()
    const response = await dataplane().generateScopedAccessToken({
      generateScopedAccessTokenDetails: { scope: `${API}|read write`, publicKey: bound.publicPem },
    })
    const token = response.securityToken.token
    expect(response.opcRequestId).toMatch(/^req_/)
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuer()}/jwks`)), {
      issuer: issuer(),
      audience: API,
    })
    expect(payload).toMatchObject({
      sub: applicationId,
      scope: 'read',
      scoped: true,
      cnf: { jkt: await thumbprintOf(bound.publicPem) },
    })
  })

  it('gets a user security token: a session that refreshes with a proof of its key, and ends when revoked', async () => {
    const session = rsaKey()
    const response = await dataplane().generateUserSecurityToken({
      generateUserSecurityTokenDetails: { publicKey: session.publicPem, sessionExpirationInMinutes: 15 },
    })
    const token = response.securityToken.token
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuer()}/jwks`)), {
      issuer: issuer(),
      audience: PAM,
    })
    const proofKey = await importProofKey(session.privatePem, { alg: 'RS256' })
    expect(payload).toMatchObject({ sub: applicationId, cnf: { jkt: proofKey.thumbprint } })
    expect(payload.sid).toMatch(/^sess_/)

    const sessionCall = async (action: 'refresh' | 'revoke', current: string) => {
      const url = `${server.url}/v2/${instanceId}/sessionTokens/_/actions/${action}`
      const proof = await createProof(proofKey, { method: 'POST', url, accessToken: current })
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `DPoP ${current}`, dpop: proof, 'content-type': 'application/json' },
        body: '{}',
      })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }
    const refreshed = await sessionCall('refresh', token)
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
    expect(refreshed.body).toMatchObject({ sessionId: payload.sid, jkt: proofKey.thumbprint })
    const next = refreshed.body.accessToken as string
    expect((await sessionCall('revoke', next)).status).toBe(200)
    const ended = await sessionCall('refresh', next)
    expect(ended.status).toBe(401)
    expect(ended.body.Code).toBe('SessionRevoked')
  })

  const refusal = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(OciError)
    const oci = error as OciError
    expect({ status: oci.statusCode, code: oci.serviceCode }).toEqual({
      status: 401,
      code: 'NotAuthenticated',
    })
    expect(oci.opcRequestId).toMatch(/^req_/)
  }
  const scopedDetails = () => ({
    generateScopedAccessTokenDetails: { scope: `${PAM}|credential:obtain`, publicKey: rsaKey().publicPem },
  })
  const asSent = ({ headers, body }: { headers: Headers; body: string }) => ({ headers, body })

  it('refuses an unknown key and a bad signature, which the SDK reads as NotAuthenticated', async () => {
    await refusal(
      dataplane({ fingerprint: '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff' }).generateScopedAccessToken(
        scopedDetails(),
      ),
    )
    await refusal(dataplane({ privatePem: rsaKey().privatePem }).generateScopedAccessToken(scopedDetails()))
  })

  it('refuses a signed request altered on its way: a signed header removed, another body, an old date', async () => {
    const signer = () => new DefaultRequestSigner(authProvider())
    const withoutDigest = new AlteringHttpClient(signer(), ({ headers, body }) => {
      headers.delete('x-content-sha256')
      return { headers, body }
    })
    await refusal(dataplane({ httpClient: withoutDigest }).generateScopedAccessToken(scopedDetails()))
    const otherBody = new AlteringHttpClient(signer(), ({ headers, body }) => ({
      headers,
      body: body.replace('credential:obtain', 'account:obtain___'),
    }))
    await refusal(dataplane({ httpClient: otherBody }).generateScopedAccessToken(scopedDetails()))
    const stale = new AlteringHttpClient(signer(), asSent, (headers) =>
      headers.set('x-date', new Date(Date.now() - 6 * 60_000).toUTCString()),
    )
    await refusal(
      dataplane({ httpClient: stale }).generateUserSecurityToken({
        generateUserSecurityTokenDetails: { publicKey: rsaKey().publicPem },
      }),
    )
  })

  it('refuses a signed request sent again', async () => {
    const recorder = new AlteringHttpClient(new DefaultRequestSigner(authProvider()), asSent)
    const first = await dataplane({ httpClient: recorder }).generateScopedAccessToken(scopedDetails())
    expect(first.securityToken.token.split('.')).toHaveLength(3)
    const [sent] = recorder.sent
    const again = await fetch(sent!.uri, { method: sent!.method, headers: sent!.headers, body: sent!.body })
    expect(again.status).toBe(401)
    expect(await again.json()).toEqual({
      code: 'NotAuthenticated',
      message: expect.stringContaining('used before'),
    })
    expect(server.logs()).not.toContain(first.securityToken.token.split('.')[2])
  })
})
