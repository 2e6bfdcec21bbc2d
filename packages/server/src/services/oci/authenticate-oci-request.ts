import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { DEFAULT_AUTHORIZATION_SERVER, PAM_AUDIENCE } from '@strongroom/protocol'
import type { Actor, RequestMeta } from '../../audit/appender.js'
import type { AuditDetails } from '../../audit/chain.js'
import { PamError } from '../../errors.js'
import type { AccessTokenClaims } from '../../oauth/access-tokens.js'
import { issuerOf } from '../../oauth/issuer.js'
import { normalizedFingerprint, ociFingerprint } from '../../oci/fingerprint.js'
import {
  MalformedSignature,
  MissingSignedHeader,
  OCI_SIGNATURE_ALGORITHM,
  parseSignatureAuthorization,
  type SignedRequest,
  signedDate,
  signingString,
  unsignedRequiredHeaders,
  verifyRsaSha256,
} from '../../oci/request-signature.js'
import type { Caller, Services, Workload } from '../../services.js'
import { type AuditFailure, auditBestEffort, shouldAuditFailure } from '../best-effort.js'
import { allowedValues } from '../bound-tokens/narrow-scope.js'
import { firstUseOfSignature } from './signature-replay.js'

/** How far a signed date may be from the server's clock, either way (OCI's maximum clock skew). */
export const OCI_SIGNATURE_WINDOW_MS = 5 * 60_000

/** An OCI-signed request, as the HTTP layer received it. */
export interface OciRequest {
  method: string
  /** The request target as received: path and query. */
  url: string
  headers: Readonly<Record<string, string | string[] | undefined>>
  /** The body's bytes exactly as received; undefined for none. */
  body: Buffer | undefined
  meta: RequestMeta
}

/** What a verified signature establishes: the application, as a workload, and the key it signed with. */
export interface OciAuthenticated {
  /** The application as the caller of the bound-token services (see `signedWorkload`). */
  caller: Caller & { workload: Workload }
  /** The application's allowed scopes as stored (`audience|value …`). */
  allowedScopes: string
  applicationKeyId: string
}

/**
 * A refused OCI signature: 401, answered on the OCI routes as OCI's `NotAuthenticated`. The code
 * is the one of a client that failed to authenticate (`InvalidClient`): the application did not
 * prove it holds one of its keys. `why` is what the audit records.
 */
export class OciSignatureRefused extends PamError {
  constructor(
    readonly why: string,
    message: string,
  ) {
    super('InvalidClient', `the request signature was refused: ${message}`)
  }
}

/**
 * Authenticates a request signed as the OCI SDKs sign (OCI request signatures, version 1): the
 * `keyId` is `<tenancy>/<user>/<fingerprint>`, where the tenancy is this instance's id, the user an
 * application of it (its id, which is also its client id) and the fingerprint the OCI fingerprint
 * (oci/fingerprint.ts) of one of the application's registered RSA keys (`app key add`).
 *
 * In this order, each refusal a 401 `OciSignatureRefused` audited once as `oci.authenticate`
 * (best effort, as every workload authentication refusal; not at all with `auditFailure: false`,
 * for an address already throttled) with `why`, the `keyId` and, once found, the registered key's
 * id; its actor is the application once the signature verified, anonymous before:
 *
 * - `signature_malformed`: no `Authorization: Signature …`, or a parameter missing or malformed;
 *   `algorithm_unsupported`: not `rsa-sha256`;
 * - `header_not_signed`: the signature does not cover `(request-target)`, `host`, `date` or
 *   `x-date`, and for a body `content-length`, `content-type` and `x-content-sha256`;
 *   `signed_header_missing`: a header it covers is not in the request;
 * - `date_invalid`, `date_out_of_window`: the signed date (`x-date` if signed, else `date`) is no
 *   date, or more than 5 minutes from the server's clock;
 * - `key_unknown`: the keyId names no registered RSA key of an application of this instance (the
 *   same answer whether the application or the key is unknown);
 * - `signature_invalid`: the signature does not verify with that key over the signing string,
 *   built from this request as the client addressed it (`publicUrl`'s host, its path prefix and
 *   the request target, as DPoP proofs are: behind a proxy, set the public URL);
 * - `application_disabled` (after the signature: nothing about the application is told without
 *   its key);
 * - `body_digest_mismatch`, `body_length_mismatch`: the body is not the one signed
 *   (`x-content-sha256`, base64 SHA-256 of its bytes; `content-length`);
 * - `signature_replayed`: the signature was used before, on any node (`firstUseOfSignature`).
 *
 * @see https://docs.oracle.com/iaas/Content/API/Concepts/signingrequests.htm
 */
export async function authenticateOciRequest(
  s: Services,
  instanceId: string,
  req: OciRequest,
  options: { auditFailure?: AuditFailure } = {},
): Promise<OciAuthenticated> {
  let actor: Actor = { type: 'anonymous', id: 'unknown' }
  const known: AuditDetails = {}
  const refuse = async (why: string, message: string): Promise<OciSignatureRefused> => {
    const error = new OciSignatureRefused(why, message)
    if (!(await shouldAuditFailure(options.auditFailure))) return error
    await auditBestEffort(s, {
      instanceId,
      actor,
      action: 'oci.authenticate',
      outcome: 'failure',
      details: { why, ...known },
      request: req.meta,
    })
    return error
  }

  let params: ReturnType<typeof parseSignatureAuthorization>
  try {
    params = parseSignatureAuthorization(req.headers.authorization)
  } catch (err) {
    if (err instanceof MalformedSignature) throw await refuse('signature_malformed', err.message)
    throw err
  }
  known.keyId = params.keyId.slice(0, 256)
  if (params.algorithm !== OCI_SIGNATURE_ALGORITHM)
    throw await refuse('algorithm_unsupported', `the algorithm must be ${OCI_SIGNATURE_ALGORITHM}`)
  const unsigned = unsignedRequiredHeaders(req.method, params.headers)
  if (unsigned.length > 0)
    throw await refuse('header_not_signed', `the signature must cover ${unsigned.join(', ')}`)

  const signed = signedRequest(s, req)
  let text: string
  try {
    text = signingString(signed, params.headers)
  } catch (err) {
    if (err instanceof MissingSignedHeader) throw await refuse('signed_header_missing', err.message)
    throw err
  }
  const date = signedDate(signed, params.headers)
  if (date === undefined) throw await refuse('date_invalid', 'the signed date is not an HTTP date')
  if (Math.abs(s.now() - date) > OCI_SIGNATURE_WINDOW_MS)
    throw await refuse(
      'date_out_of_window',
      "the signed date is more than 5 minutes away from the server's clock",
    )

  // One answer whether the keyId names no registered key or the signature does not verify with
  // the key it names: two told a caller without the key whether an application holds a given
  // public key (found by a review). The audit's `why` still tells them apart.
  const notVerified = () =>
    `the signature does not verify with a registered key the keyId names: keyId must be ${instanceId}/<application id>/<fingerprint of one of its registered RSA keys>, and the host and request target signed those of ${s.publicUrl}`
  const key = await registeredKey(s, instanceId, params.keyId)
  if (key === undefined) throw await refuse('key_unknown', notVerified())
  known.applicationKeyId = key.id
  if (!verifyRsaSha256(key.publicKey, text, params.signature))
    throw await refuse('signature_invalid', notVerified())
  // Only a signature that verifies speaks for the application: before, it is only named.
  actor = { type: 'application', id: key.application.id }
  if (key.application.status !== 'enabled')
    throw await refuse('application_disabled', 'the application is disabled')

  const body = req.body ?? Buffer.alloc(0)
  if (params.headers.includes('x-content-sha256')) {
    const digest = createHash('sha256').update(body).digest('base64')
    if (signed.header('x-content-sha256') !== digest)
      throw await refuse('body_digest_mismatch', 'x-content-sha256 is not the SHA-256 of the body sent')
  }
  if (params.headers.includes('content-length') && signed.header('content-length') !== String(body.length))
    throw await refuse('body_length_mismatch', 'content-length is not the length of the body sent')

  const first = await firstUseOfSignature(
    s,
    instanceId,
    { applicationKeyId: key.id, signingString: text },
    date + OCI_SIGNATURE_WINDOW_MS,
  )
  if (!first)
    throw await refuse('signature_replayed', 'this signature was used before: sign each request anew')

  return {
    caller: {
      actor,
      instanceScope: instanceId,
      request: req.meta,
      workload: signedWorkload(s, instanceId, key),
    },
    allowedScopes: key.application.allowed_scopes,
    applicationKeyId: key.id,
  }
}

/** The request as the client addressed it: the public URL's host and path prefix (see `checkProof`). */
function signedRequest(s: Pick<Services, 'publicUrl'>, req: OciRequest): SignedRequest {
  let host = ''
  let prefix = ''
  try {
    const url = new URL(s.publicUrl)
    host = url.host
    prefix = url.pathname.replace(/\/+$/, '')
  } catch {
    // A public URL is checked at start-up; without one nothing signed for a host can verify.
  }
  return {
    method: req.method,
    target: `${prefix}${req.url}`,
    host,
    header: (name) => {
      const value = req.headers[name]
      return Array.isArray(value) ? value.join(', ') : value
    },
  }
}

interface RegisteredKey {
  id: string
  publicKey: KeyObject
  application: {
    id: string
    client_id: string
    status: string
    allowed_scopes: string
    access_token_lifetime: number
  }
}

/**
 * The registered RSA key `keyId` names, with its application, or undefined: the tenancy must be
 * `instanceId`, the user an application of it (by id or client id), and the fingerprint the OCI
 * fingerprint of one of that application's RSA keys.
 */
async function registeredKey(
  s: Pick<Services, 'store'>,
  instanceId: string,
  keyId: string,
): Promise<RegisteredKey | undefined> {
  const parts = keyId.split('/')
  if (parts.length !== 3) return undefined
  const [tenancy, user, given] = parts as [string, string, string]
  const fingerprint = normalizedFingerprint(given)
  if (tenancy !== instanceId || user === '' || user.length > 128 || fingerprint === undefined)
    return undefined
  const rows = await s.store.db
    .selectFrom('applications as a')
    .innerJoin('application_keys as k', (join) =>
      join.onRef('k.application_id', '=', 'a.id').on('k.instance_id', '=', instanceId),
    )
    .select([
      'a.id as applicationId',
      'a.client_id as clientId',
      'a.status as status',
      'a.allowed_scopes as allowedScopes',
      'a.access_token_lifetime as accessTokenLifetime',
      'k.id as keyId',
      'k.public_jwk as publicJwk',
    ])
    .where('a.instance_id', '=', instanceId)
    .where((eb) => eb.or([eb('a.id', '=', user), eb('a.client_id', '=', user)]))
    .execute()
  for (const row of rows) {
    let publicKey: KeyObject
    try {
      publicKey = createPublicKey({ key: JSON.parse(row.publicJwk) as never, format: 'jwk' })
    } catch {
      continue
    }
    if (ociFingerprint(publicKey) !== fingerprint) continue
    return {
      id: row.keyId,
      publicKey,
      application: {
        id: row.applicationId,
        client_id: row.clientId,
        status: row.status,
        allowed_scopes: row.allowedScopes,
        access_token_lifetime: Number(row.accessTokenLifetime),
      },
    }
  }
  return undefined
}

/**
 * The application behind a verified signature, as the bound-token services take a caller: as if
 * it had presented its own plain access token (`isOwnPlainToken`), fresh from the token endpoint —
 * its subject and client the application, its PAM scope all that the application is allowed,
 * living the application's token lifetime. Nothing is minted: these claims only bound what is
 * derived (a scoped token never outlives them; a session may, as one started with the
 * application's own token may). `tokenId` (the audit's `accessTokenId`, and a session's parent
 * `jti`) is the id of the registered key that signed: what authorised the issuance.
 */
function signedWorkload(s: Services, instanceId: string, key: RegisteredKey): Workload {
  const iat = Math.floor(s.now() / 1000)
  const scopes = allowedValues(key.application.allowed_scopes, PAM_AUDIENCE)
  const claims: AccessTokenClaims = Object.freeze({
    iss: issuerOf(s, instanceId, DEFAULT_AUTHORIZATION_SERVER),
    sub: key.application.id,
    aud: PAM_AUDIENCE,
    scope: [...scopes].join(' '),
    client_id: key.application.client_id,
    jti: key.id,
    iat,
    exp: iat + key.application.access_token_lifetime,
    instance_id: instanceId,
  })
  return {
    applicationId: key.application.id,
    clientId: key.application.client_id,
    scopes,
    tokenId: key.id,
    claims,
    signingKid: null,
  }
}
