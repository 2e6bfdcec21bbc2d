import { verify } from 'node:crypto'
import type { AuthenticationToken, AuthenticationTokenPage } from '@strongroom/protocol'
import type { Kysely, SelectQueryBuilder } from 'kysely'
import type { Binding } from '../../crypto/keyring.js'
import { hashesEqual, isWellFormedSecret, keyedHash, SECRET_PREFIX } from '../../crypto/minted-secret.js'
import type { Services } from '../../services.js'
import { decodeCursor, encodeCursor } from '../../store/pagination.js'
import type { AuthenticationTokenTable, CredentialProviderTable, Database } from '../../store/schema.js'
import { jwtSettingsOf } from '../providers/providers.js'
import { type CountFilter, countTokens } from './token-counts.js'

export function toAuthenticationToken(row: AuthenticationTokenTable): AuthenticationToken {
  return {
    authenticationTokenId: row.id,
    authenticationTokenType: row.type,
    consumerId: row.consumer_id,
    consumerType: row.consumer_type,
    creatorId: row.creator_id,
    creatorType: row.creator_type,
    credentialProviderId: row.provider_id,
    instanceId: row.instance_id,
    revoked: Number(row.revoked) === 1,
    createTime: Number(row.created_at),
    updateTime: Number(row.updated_at),
    expirationTime: Number(row.expires_at),
  }
}

/** Where a JWT is sealed: bound to its token record. */
export const jwtBinding = (row: Pick<AuthenticationTokenTable, 'instance_id' | 'id'>): Binding => ({
  instanceId: row.instance_id,
  table: 'authentication_tokens',
  recordId: row.id,
  field: 'value',
  version: 1,
})

const TOKEN_ID = /^atntkn_[0-9a-z]{26}$/

/**
 * The record of a JWT or of its derived short token, within one instance. A JWT is found by its
 * `jti` (the record id) and must hash to the recorded value, so a forged JWT naming a real id
 * finds nothing; a short token is found by its keyed hash. Nothing here says whether it is active.
 */
export async function findTokenRecord(
  s: Pick<Services, 'keyring'>,
  db: Kysely<Database>,
  instanceId: string,
  token: string,
): Promise<AuthenticationTokenTable | undefined> {
  if (token.startsWith(SECRET_PREFIX.derivedShortToken)) {
    if (!isWellFormedSecret(token, SECRET_PREFIX.derivedShortToken)) return undefined
    return db
      .selectFrom('authentication_tokens')
      .selectAll()
      .where('short_token_hash', '=', keyedHash(s.keyring.hashKey, token))
      .where('instance_id', '=', instanceId)
      .executeTakeFirst()
  }
  const jti = jwtId(token)
  if (jti === undefined) return undefined
  const row = await db
    .selectFrom('authentication_tokens')
    .selectAll()
    .where('id', '=', jti)
    .where('instance_id', '=', instanceId)
    .executeTakeFirst()
  if (row?.type !== 'jwt' || !hashesEqual(row.value_hash, keyedHash(s.keyring.hashKey, token)))
    return undefined
  return row
}

/** The `jti` of a compact JWS naming one of our token records, without verifying anything. */
function jwtId(token: string): string | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { jti?: unknown }
    return typeof payload.jti === 'string' && TOKEN_ID.test(payload.jti) ? payload.jti : undefined
  } catch {
    return undefined
  }
}

/** Whether a JWT's signature verifies under its provider's key (the algorithm is the provider's, never the token's). */
export function signatureVerifies(
  s: Pick<Services, 'providers'>,
  provider: CredentialProviderTable,
  jwt: string,
): boolean {
  const parts = jwt.split('.')
  if (parts.length !== 3 || provider.type !== 'jwt') return false
  const input = Buffer.from(`${parts[0]}.${parts[1]}`)
  const signature = Buffer.from(parts[2]!, 'base64url')
  const key = s.providers.verificationKey(provider)
  const algorithm = jwtSettingsOf(provider).algorithm
  try {
    return algorithm === 'EdDSA'
      ? verify(null, input, key, signature)
      : algorithm === 'ES256'
        ? verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature)
        : verify('sha256', input, key, signature)
  } catch {
    return false
  }
}

/** Opens a recorded JWT. */
export async function openJwt(
  s: Services,
  db: Kysely<Database>,
  row: AuthenticationTokenTable,
): Promise<string> {
  const plaintext = await s.keyring.decrypt(db, jwtBinding(row), {
    ciphertext: row.value_ciphertext ?? Buffer.alloc(0),
    keyVersion: row.key_version ?? 0,
  })
  return plaintext.toString('utf8')
}

export type TokenFilter = CountFilter

/**
 * Index entries a filtered page examines at most. A filter (`revoked`, `expired`) can match few
 * of a consumer's tokens, or none: without a bound, one page would walk every token ever minted.
 * A page that reaches the bound holds what it found, perhaps nothing, and a `nextToken` that goes
 * on from where it stopped.
 */
export const FILTERED_PAGE_SCAN = 2000

/**
 * One page of a provider's tokens in id (creation) order, by keyset pagination, with the total
 * that match the same filters: what ListAuthenticationTokens and the admin API answer. Its cost
 * does not grow with the number of tokens: the page is an index range and the total is read from
 * the maintained counts (token-counts.ts).
 */
export async function pageOfTokens(
  db: Kysely<Database>,
  instanceId: string,
  filter: TokenFilter,
  page: { nextToken?: string | undefined; maxResults?: number | undefined },
  now: number,
): Promise<AuthenticationTokenPage> {
  const limit = page.maxResults ?? 20
  const after = decodeCursor(page.nextToken, 'string')
  const ofConsumer = <QB extends SelectQueryBuilder<Database, 'authentication_tokens', object>>(q: QB) =>
    q
      .where('instance_id', '=', instanceId)
      .where('provider_id', '=', filter.providerId)
      .$if(filter.consumerId !== undefined, (w) => w.where('consumer_id', '=', filter.consumerId!))
      .$if(after !== undefined, (w) => w.where('id', '>', after!))
      .orderBy('id') as QB
  const filtered = filter.revoked !== undefined || filter.expired !== undefined
  const rows = filtered
    ? await db
        .selectFrom((eb) =>
          ofConsumer(eb.selectFrom('authentication_tokens').selectAll())
            .limit(FILTERED_PAGE_SCAN)
            .as('scanned'),
        )
        .selectAll()
        .$if(filter.revoked !== undefined, (q) => q.where('revoked', '=', filter.revoked ? 1 : 0))
        .$if(filter.expired !== undefined, (q) => q.where('expires_at', filter.expired ? '<=' : '>', now))
        .orderBy('id')
        .limit(limit + 1)
        .execute()
    : await ofConsumer(db.selectFrom('authentication_tokens').selectAll())
        .limit(limit + 1)
        .execute()
  const total = await countTokens(db, instanceId, filter, now)
  let more = rows.length > limit
  const served = more ? rows.slice(0, limit) : rows
  let cursor = more ? served[served.length - 1]!.id : undefined
  if (!more && filtered) {
    // Fewer matches than a page: either the tokens ran out, or the scan stopped at its bound.
    const last = await ofConsumer(db.selectFrom('authentication_tokens').select('id'))
      .offset(FILTERED_PAGE_SCAN - 1)
      .limit(1)
      .executeTakeFirst()
    if (last) {
      more = true
      cursor = last.id
    }
  }
  return {
    entities: served.map(toAuthenticationToken),
    totalCount: total,
    nextToken: more ? encodeCursor(cursor!) : null,
    maxResults: limit,
  }
}
