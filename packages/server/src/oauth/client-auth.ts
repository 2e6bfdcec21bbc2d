import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose'
import type { Kysely } from 'kysely'
import { hashesEqual, isWellFormedSecret, keyedHash, SECRET_PREFIX } from '../crypto/minted-secret.js'
import { OAuthError } from '../errors.js'
import { clientSecretBinding } from '../services/applications/client-secrets.js'
import { isOutboundEndpoint, readCappedBody } from '../services/outbound-endpoint.js'
import type { Services } from '../services.js'
import { prepare } from '../store/prepared.js'
import type { ApplicationTable, Database, FederatedCredentialTable } from '../store/schema.js'
import { type AssertionKey, publicAssertionKey, verifyClientAssertion } from './client-assertion.js'

export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'

export const SUPPORTED_CLIENT_AUTH_METHODS: ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
]

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/** RFC 7523 assertions: HMAC with the client secret, or a signature with a registered key. */
export const SECRET_JWT_ALGS = ['HS256']
export const PRIVATE_KEY_JWT_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]
/** An assertion may not be valid for longer than this: it bounds how long its jti must be remembered. */
const MAX_ASSERTION_LIFETIME_S = 600
const LEEWAY_S = 10

export const ID_TOKEN_BEARER = 'urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer'

/** Assertion types of docs/wire-contract.md not supported, and what each is. */
const UNSUPPORTED_ASSERTIONS: Record<string, string> = {
  'urn:cloud:idaas:params:oauth:client-assertion-type:pkcs7-bearer':
    'PKCS#7 instance documents (pkcs7-bearer)',
  'urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer':
    'X.509 certificates (x509-jwt-bearer)',
}

export type ClientCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'client_secret_jwt' | 'private_key_jwt'; clientId: string; assertion: string }
  | { method: 'federated_oidc'; clientId: string; assertion: string; federatedCredentialName: string }

/**
 * Which client authentication the request uses, from the `Authorization` header and the
 * parameters (RFC 6749 §2.3, RFC 7523 §2.2): exactly one method, or an error saying why not.
 */
export function presentedCredentials(
  params: Map<string, string>,
  authorization: string | undefined,
): ClientCredentials {
  const assertionType = params.get('client_assertion_type')
  const basic =
    authorization !== undefined && /^basic /i.test(authorization) ? parseBasic(authorization) : undefined
  const secret = params.get('client_secret')
  const used = [basic !== undefined, secret !== undefined, assertionType !== undefined].filter(Boolean).length
  if (used > 1) throw new OAuthError('InvalidParameter', 'use exactly one client authentication method')
  const clientId = params.get('client_id')
  if (assertionType === ID_TOKEN_BEARER) return federatedCredentials(params, clientId)
  if (assertionType !== undefined)
    return assertionCredentials(assertionType, params.get('client_assertion'), clientId)
  if (basic) {
    if (clientId !== undefined && clientId !== basic.clientId) {
      throw new OAuthError('InvalidParameter', 'client_id differs from the one in the Authorization header')
    }
    return { method: 'client_secret_basic', clientId: basic.clientId, secret: basic.secret }
  }
  if (secret !== undefined) {
    if (clientId === undefined)
      throw new OAuthError('InvalidParameter', 'client_id is required with client_secret')
    return { method: 'client_secret_post', clientId, secret }
  }
  throw new OAuthError('InvalidClient', 'client authentication is required')
}

function federatedCredentials(params: Map<string, string>, clientId: string | undefined): ClientCredentials {
  const assertion = params.get('client_assertion')
  const name = params.get('application_federated_credential_name')
  if (clientId === undefined) throw new OAuthError('InvalidParameter', 'client_id is required')
  if (assertion === undefined) throw new OAuthError('InvalidParameter', 'client_assertion is required')
  if (name === undefined) {
    throw new OAuthError(
      'InvalidParameter',
      'application_federated_credential_name is required with an id-token-bearer assertion',
    )
  }
  return { method: 'federated_oidc', clientId, assertion, federatedCredentialName: name }
}

function assertionCredentials(
  type: string,
  assertion: string | undefined,
  clientId: string | undefined,
): ClientCredentials {
  if (type !== JWT_BEARER) {
    const what = UNSUPPORTED_ASSERTIONS[type]
    throw new OAuthError(
      'UnsupportedClientAuthMethod',
      what
        ? `client authentication by ${what} is not supported by this server; use ${SUPPORTED_CLIENT_AUTH_METHODS.join(', ')}`
        : 'client_assertion_type names no client authentication method this server knows',
    )
  }
  if (assertion === undefined) throw new OAuthError('InvalidParameter', 'client_assertion is required')
  let alg: unknown
  let iss: unknown
  try {
    alg = decodeProtectedHeader(assertion).alg
    iss = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')).iss
  } catch {
    throw new UnreadableAssertion()
  }
  const who = clientId ?? (typeof iss === 'string' ? iss : undefined)
  if (who === undefined) throw new OAuthError('InvalidParameter', 'client_id is required')
  if (typeof alg === 'string' && SECRET_JWT_ALGS.includes(alg))
    return { method: 'client_secret_jwt', clientId: who, assertion }
  if (typeof alg === 'string' && PRIVATE_KEY_JWT_ALGS.includes(alg))
    return { method: 'private_key_jwt', clientId: who, assertion }
  throw new UnreadableAssertion()
}

/**
 * A client assertion that cannot be read (no JWS, or signed with an algorithm no method takes):
 * refused before any lookup, with the same 401 `InvalidClient` as every failed client
 * authentication, and still counted and audited by the endpoint as a failure.
 */
export class UnreadableAssertion extends OAuthError {
  constructor() {
    super('InvalidClient', 'client authentication failed')
  }
}

/** RFC 6749 §2.3.1: both parts are form-urlencoded before base64. */
function parseBasic(header: string): { clientId: string; secret: string } {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) throw new OAuthError('InvalidParameter', 'the Basic credentials are malformed')
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replaceAll('+', ' ')),
    }
  } catch {
    throw new OAuthError('InvalidParameter', 'the Basic credentials are malformed')
  }
}

/** Why authentication failed, for the audit event; the client only ever hears "failed". */
export type ClientAuthFailure =
  | 'unknown_client'
  | 'disabled'
  | 'bad_secret'
  | 'no_keys'
  | 'bad_assertion'
  | 'assertion_lifetime'
  | 'replayed'
  | 'unknown_federated_credential'

/** `clientSecretId`: the client secret that authenticated the client (client_secret_post, _basic, _jwt). */
type Verdict =
  | {
      application: ApplicationTable
      clientSecretId?: string
      applicationKeyId?: string
      federatedCredentialId?: string
    }
  | { failure: ClientAuthFailure; detail?: string; application?: ApplicationTable }

/**
 * Authenticates a client of an instance. The application must exist and be enabled; then:
 * a secret must be one of its live secrets (keyed hashes, constant time); an assertion must be
 * signed by one of its registered keys (private_key_jwt) or with one of its live secrets
 * (client_secret_jwt), with iss = sub = the client id, aud naming this server, exp required and
 * at most 10 minutes ahead, and a jti never seen before (remembered until the assertion expires).
 */
export async function verifyClient(
  s: Pick<Services, 'keyring' | 'now' | 'committer' | 'store'>,
  db: Kysely<Database>,
  instanceId: string,
  credentials: ClientCredentials,
  audiences: string[],
): Promise<Verdict> {
  const application = await applicationByClientId.first(s.store, db, {
    instanceId,
    clientId: credentials.clientId,
  })
  if (!application) return { failure: 'unknown_client' }
  if (application.status !== 'enabled') return { failure: 'disabled', application }
  const now = s.now()
  if ('secret' in credentials) {
    const clientSecretId = await secretMatches(s, db, application.id, credentials.secret, now)
    return clientSecretId !== null ? { application, clientSecretId } : { failure: 'bad_secret', application }
  }
  if (credentials.method === 'federated_oidc') return verifyFederated(db, application, credentials, now)
  const { assertion, method } = credentials
  const keys =
    method === 'private_key_jwt'
      ? await registeredKeys(db, application.id)
      : await liveSecrets(s, db, instanceId, application.id, now)
  if (keys.length === 0) return { failure: 'no_keys', application }
  const verdict = verifyClientAssertion(assertion, keys, {
    issuer: credentials.clientId,
    subject: credentials.clientId,
    audiences,
    algorithms: method === 'private_key_jwt' ? PRIVATE_KEY_JWT_ALGS : SECRET_JWT_ALGS,
    nowS: Math.floor(now / 1000),
    leewayS: LEEWAY_S,
  })
  if ('error' in verdict) return { failure: 'bad_assertion', detail: verdict.error, application }
  const { payload } = verdict
  const clientSecretId = verdict.key.kind === 'secret' ? verdict.key.clientSecretId : undefined
  const applicationKeyId = verdict.key.kind === 'public' ? verdict.key.applicationKeyId : undefined
  const exp = payload.exp as number
  if (exp - Math.floor(now / 1000) > MAX_ASSERTION_LIFETIME_S + LEEWAY_S) {
    return {
      failure: 'assertion_lifetime',
      detail: `exp more than ${MAX_ASSERTION_LIFETIME_S} s ahead`,
      application,
    }
  }
  const first = await s.committer.run(({ trx }) =>
    trx
      .insertInto('used_client_assertions')
      .values({
        instance_id: instanceId,
        client_id: credentials.clientId,
        jti: String(payload.jti).slice(0, 256),
        expires_at: exp * 1000,
      })
      .onConflict((oc) => oc.columns(['instance_id', 'client_id', 'jti']).doNothing())
      .executeTakeFirst(),
  )
  if (Number(first.numInsertedOrUpdatedRows ?? 0n) !== 1) return { failure: 'replayed', application }
  if (clientSecretId !== undefined) return { application, clientSecretId }
  return applicationKeyId === undefined ? { application } : { application, applicationKeyId }
}

// Every token request reads these two: prepared once (store/prepared.ts), not built per request.
const applicationByClientId = prepare(['instanceId', 'clientId'], (db, p) =>
  db
    .selectFrom('applications')
    .selectAll()
    .where('instance_id', '=', p.instanceId)
    .where('client_id', '=', p.clientId),
)
const clientSecretByHash = prepare(['applicationId', 'hash'], (db, p) =>
  db
    .selectFrom('client_secrets')
    .select(['id', 'secret_hash', 'revoked_at', 'expires_at'])
    .where('application_id', '=', p.applicationId)
    .where('secret_hash', '=', p.hash),
)

/** The id of the live client secret `presented` is, or null. */
async function secretMatches(
  s: Pick<Services, 'keyring' | 'store'>,
  db: Kysely<Database>,
  applicationId: string,
  presented: string,
  now: number,
): Promise<string | null> {
  if (!isWellFormedSecret(presented, SECRET_PREFIX.clientSecret)) return null
  const hash = keyedHash(s.keyring.hashKey, presented)
  const secret = await clientSecretByHash.first(s.store, db, { applicationId, hash })
  const live =
    secret !== undefined &&
    hashesEqual(secret.secret_hash, hash) &&
    secret.revoked_at === null &&
    (secret.expires_at === null || Number(secret.expires_at) > now)
  return live ? secret.id : null
}

type VerifyKey = Parameters<typeof jwtVerify>[1]

/**
 * Registered keys as key objects, made once per JWK text (most recently used kept): importing a
 * JWK costs more than verifying with it.
 */
const publicKeys = new Map<string, AssertionKey | null>()
const PUBLIC_KEY_CACHE_SIZE = 1024

async function registeredKeys(db: Kysely<Database>, applicationId: string): Promise<AssertionKey[]> {
  const rows = await db
    .selectFrom('application_keys')
    .select(['id', 'public_jwk'])
    .where('application_id', '=', applicationId)
    .execute()
  const keys: AssertionKey[] = []
  for (const { id, public_jwk } of rows) {
    let key = publicKeys.get(public_jwk)
    if (key === undefined) {
      key = publicAssertionKey(JSON.parse(public_jwk) as JWK) ?? null
      if (publicKeys.size >= PUBLIC_KEY_CACHE_SIZE) publicKeys.delete(publicKeys.keys().next().value!)
    } else {
      publicKeys.delete(public_jwk)
    }
    publicKeys.set(public_jwk, key)
    // The row's id with it: the issuing unit reads the key again (token-endpoint.ts).
    if (key?.kind === 'public') keys.push({ ...key, applicationKeyId: id })
  }
  return keys
}

/** The live secrets of an application as HMAC keys, from their sealed copies, with their ids. */
async function liveSecrets(
  s: Pick<Services, 'keyring'>,
  db: Kysely<Database>,
  instanceId: string,
  applicationId: string,
  now: number,
): Promise<AssertionKey[]> {
  const rows = await db
    .selectFrom('client_secrets')
    .select(['id', 'secret_ciphertext', 'key_version', 'expires_at'])
    .where('application_id', '=', applicationId)
    .where('revoked_at', 'is', null)
    .execute()
  const keys: AssertionKey[] = []
  for (const row of rows) {
    if (row.secret_ciphertext === null || row.key_version === null) continue
    if (row.expires_at !== null && Number(row.expires_at) <= now) continue
    const secret = await s.keyring.decrypt(db, clientSecretBinding(instanceId, row.id), {
      ciphertext: row.secret_ciphertext,
      keyVersion: row.key_version,
    })
    keys.push({ kind: 'secret', key: Buffer.from(secret), clientSecretId: row.id })
  }
  return keys
}

const remoteSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>()
const MAX_REMOTE_SETS = 1000

/**
 * The issuer's keys, fetched from its JWKS URL: cached (10 min), refetched at most every 30 s when
 * a token names an unknown kid, each fetch bounded to 5 s. One set per federated credential.
 */
function remoteKeys(id: string, uri: string): ReturnType<typeof createRemoteJWKSet> {
  const key = `${id} ${uri}`
  let set = remoteSets.get(key)
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), {
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
      timeoutDuration: 5_000,
      [customFetch]: fetchCappedJwks,
    })
    if (remoteSets.size >= MAX_REMOTE_SETS) remoteSets.delete(remoteSets.keys().next().value!)
    remoteSets.set(key, set)
  }
  return set
}

/** A JWKS longer than this is refused: an issuer's few public keys take a few KiB. */
const MAX_JWKS_BYTES = 128 * 1024

/**
 * jose's fetch of a JWKS, with the answer read only up to `MAX_JWKS_BYTES`: jose would otherwise
 * hold an issuer's whole answer in memory, however long, before parsing it.
 */
async function fetchCappedJwks(url: string, options: RequestInit): Promise<Response> {
  const response = await fetch(url, options)
  if (response.status !== 200) {
    // jose refuses it without reading the body: nothing of it is kept.
    await response.body?.cancel().catch(() => {})
    return response
  }
  const body = await readCappedBody(response, MAX_JWKS_BYTES)
  return new Response(body.toString('utf8'), { status: 200, headers: response.headers })
}

/**
 * Federated OIDC: the workload presents a token of an external issuer (a Kubernetes service-account
 * token, a CI job token). It must be signed (asymmetric algorithms only) by the issuer's keys, and
 * carry exactly the credential's issuer and subject, one of its audiences, and a valid exp/nbf.
 */
async function verifyFederated(
  db: Kysely<Database>,
  application: ApplicationTable,
  credentials: Extract<ClientCredentials, { method: 'federated_oidc' }>,
  now: number,
): Promise<Verdict> {
  const fc = await db
    .selectFrom('federated_credentials')
    .selectAll()
    .where('application_id', '=', application.id)
    .where('name', '=', credentials.federatedCredentialName)
    .executeTakeFirst()
  if (!fc) return { failure: 'unknown_federated_credential', application }
  const verdict = await verifyFederatedToken(fc, credentials.assertion, now)
  if ('failure' in verdict) return { failure: 'bad_assertion', detail: verdict.failure, application }
  return { application, federatedCredentialId: fc.id }
}

/** Verifies an external OIDC token against one federated credential: its keys, iss, sub, aud, exp/nbf. */
export async function verifyFederatedToken(
  fc: FederatedCredentialTable,
  token: string,
  now: number,
): Promise<{ payload: JWTPayload } | { failure: string }> {
  if (fc.jwks === null && !isOutboundEndpoint(fc.jwks_uri ?? '')) {
    // Written before the rule below held at creation: keys over plain http could be anyone's.
    return { failure: 'jwks_uri must use https (plain http only on a loopback address)' }
  }
  const keys: VerifyKey =
    fc.jwks !== null
      ? (createLocalJWKSet(JSON.parse(fc.jwks) as { keys: JWK[] }) as VerifyKey)
      : (remoteKeys(fc.id, fc.jwks_uri!) as VerifyKey)
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: fc.issuer,
      subject: fc.subject,
      audience: JSON.parse(fc.audiences) as string[],
      algorithms: PRIVATE_KEY_JWT_ALGS,
      requiredClaims: ['exp'],
      currentDate: new Date(now),
      clockTolerance: LEEWAY_S,
    })
    return { payload }
  } catch (err) {
    const e = err as { code?: string; claim?: string }
    return { failure: [e.code ?? 'invalid', e.claim].filter(Boolean).join(' ') }
  }
}
