// Shared set-up of the OCI identity data plane route tests: an RSA API key registered for the
// bound-token test application, and requests signed by the official OCI signer (oci-common's
// `DefaultRequestSigner`, an implementation apart from the server's verifier), which tests may
// alter before sending.
import { generateKeyPairSync } from 'node:crypto'
import { DefaultRequestSigner, SimpleAuthenticationDetailsProvider } from 'oci-common'
import type { TestServer } from '../support/engines.js'
import { type Answer, type BoundTokenServer, send } from './bound-tokens-support.js'

export const SCOPED_PATH = '/v1/actions/generateScopedAccessToken'
export const UPST_PATH = '/v1/token/upst/actions/GenerateUpst'

/** An RSA key pair, as an OCI API key: PEM private and public halves. */
export interface RsaKey {
  privatePem: string
  publicPem: string
}

export function newRsaKey(bits = 2048): RsaKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits })
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

/** An API key registered for an application: what an OCI SDK's configuration holds. */
export interface OciApiKey extends RsaKey {
  tenancy: string
  user: string
  fingerprint: string
  applicationKeyId: string
}

/** Registers `key` for the application with the admin API; the answer names its OCI fingerprint. */
export async function registerOciKey(
  b: BoundTokenServer,
  key: RsaKey = newRsaKey(),
  applicationId: string = b.app.applicationId,
): Promise<OciApiKey> {
  const res = await send(
    b.t,
    'POST',
    `/admin/v1/instances/${b.t.instanceId}/applications/${applicationId}/keys`,
    b.t.auth,
    { pem: key.publicPem },
  )
  if (res.status !== 201) throw new Error(`adding the key answered ${res.status}: ${res.raw}`)
  const added = res.body.entities[0]
  return {
    ...key,
    tenancy: b.t.instanceId,
    user: applicationId,
    fingerprint: added.ociFingerprint,
    applicationKeyId: added.applicationKeyId,
  }
}

/** `/oci/{instanceId}` followed by `path`: the OCI client's endpoint and its operation's path. */
export const ociPath = (b: BoundTokenServer, path: string) => `/oci/${b.t.instanceId}${path}`

export interface SignOptions {
  /** The signed date (`x-date`); the server's fake clock by default. */
  date?: number
  /** oci-common's `forceExcludeBody`: signs only `x-date (request-target) host`. */
  excludeBody?: boolean
  keyId?: { tenancy?: string; user?: string; fingerprint?: string }
  /** The private key that signs, when not the key's own. */
  privatePem?: string
  /** Where the client believes it sends the request (the signed host): the server's public URL by default. */
  base?: string
}

/** The headers oci-common's signer puts on a POST of `body` to `path` (below `/oci/{i}`). */
export async function signedHeaders(
  b: BoundTokenServer,
  key: OciApiKey,
  path: string,
  body: string,
  o: SignOptions = {},
): Promise<Record<string, string>> {
  const provider = new SimpleAuthenticationDetailsProvider(
    o.keyId?.tenancy ?? key.tenancy,
    o.keyId?.user ?? key.user,
    o.keyId?.fingerprint ?? key.fingerprint,
    o.privatePem ?? key.privatePem,
    null,
  )
  const headers = new Headers({
    'content-type': 'application/json',
    'x-date': new Date(o.date ?? b.clock.now).toUTCString(),
  })
  const uri = `${o.base ?? b.t.services.publicUrl}${ociPath(b, path)}`
  await new DefaultRequestSigner(provider).signHttpRequest(
    { method: 'POST', uri, headers, body },
    o.excludeBody === true,
  )
  return Object.fromEntries(headers.entries())
}

/** Sends a POST with these exact headers and body bytes through `app.inject`. */
export async function post(
  t: TestServer,
  url: string,
  headers: Record<string, string>,
  body: string | Buffer,
): Promise<Answer> {
  const res = await t.app.inject({ method: 'POST', url, headers, payload: body })
  return {
    status: res.statusCode,
    body: res.body === '' ? null : JSON.parse(res.body),
    raw: res.body,
    headers: res.headers,
  }
}

/** Signs `body` for `path` with the official signer and sends it unaltered. */
export async function signedPost(
  b: BoundTokenServer,
  key: OciApiKey,
  path: string,
  body: unknown,
  o: SignOptions = {},
): Promise<Answer> {
  const text = JSON.stringify(body)
  return post(b.t, ociPath(b, path), await signedHeaders(b, key, path, text, o), text)
}

/** The payload of a JWT, unverified (the tests verify signatures with jose separately). */
// biome-ignore lint/suspicious/noExplicitAny: claims are checked field by field by the assertions
export function claimsOf(token: string): any {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
}
