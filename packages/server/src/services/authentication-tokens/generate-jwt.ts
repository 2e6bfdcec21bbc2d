import type { GenerateJwtBody, JwtTokenResult } from '@strongroom/protocol'
import { keyedHash, mintSecret, SECRET_PREFIX } from '../../crypto/minted-secret.js'
import { InvalidParameter, PamError } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services, Workload } from '../../services.js'
import type { AuthenticationTokenTable, CredentialProviderTable } from '../../store/schema.js'
import { auditedOperation, Refusal } from '../audited-operation.js'
import { authorizeProvider } from '../providers/provider-access.js'
import { signJwt } from '../providers/provider-keys.js'
import { jwtSettingsOf, providerIssuer } from '../providers/providers.js'
import { isReservedAudience, type JwtSettings } from '../providers/settings.js'
import { insertTokenRecord } from './token-counts.js'
import { jwtBinding, toAuthenticationToken } from './token-records.js'

/** Registered claims the server sets itself (RFC 7519 §4.1): custom claims may not override them. */
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti'])
const MAX_CUSTOM_CLAIMS_BYTES = 8192

/**
 * GenerateJwtAuthenticationToken: a JWT signed with the provider's key for the requested subject
 * and audiences, recorded as an authentication token whose consumer and creator are the calling
 * application (scope `authentication_token:obtain`, a `use` grant on the provider). The token's
 * `jti` is its record id, so validate, revoke and reinstate find it without a hash index.
 */
export async function generateJwt(
  s: Services,
  caller: Caller & { workload: Workload },
  instanceId: string,
  body: GenerateJwtBody,
): Promise<JwtTokenResult> {
  const { workload } = caller
  checkCustomClaims(body.customClaims)
  body.audiences.forEach((audience, i) => {
    if (isReservedAudience(audience)) {
      throw new InvalidParameter(
        `audiences[${i}]`,
        'must not start with the reserved urn:cloud:idaas',
        'InvalidParameter.Audiences',
      )
    }
  })
  return auditedOperation(
    s,
    caller,
    { instanceId, action: 'authentication_token.generate_jwt' },
    async (unit) => {
      const provider = await authorizeProvider(
        unit,
        workload,
        instanceId,
        body.credentialProviderIdentifier,
        'use',
        { type: 'jwt', scopes: ['authentication_token:obtain'] },
      )
      if (provider instanceof Refusal) return provider
      const settings = jwtSettingsOf(provider)
      const problem = checkAgainstProvider(s, provider, settings, body)
      if (problem) return unit.refuse(problem, 'invalid_request', { credentialProvider: provider.identifier })

      const now = s.now()
      const id = newId('atntkn', now)
      const iat = Math.floor(now / 1000)
      const exp = iat + (body.expiration ?? settings.defaultExpiration)
      const claims = {
        ...body.customClaims,
        iss: body.issuer ?? providerIssuer(s, provider, settings),
        sub: body.subject,
        // One audience as a string, several as an array (RFC 7519 §4.1.3 allows both).
        aud: body.audiences.length === 1 ? body.audiences[0] : body.audiences,
        iat,
        nbf: iat,
        exp,
        jti: id,
      }
      const jwk = JSON.parse(provider.public_jwk ?? '{}') as { kid?: string }
      const key = await s.providers.signingKey(unit.trx, provider)
      const jwt = signJwt(
        settings.algorithm,
        key,
        { alg: settings.algorithm, typ: 'JWT', kid: jwk.kid },
        claims,
      )
      const shortToken = body.includeDerivedShortToken
        ? mintSecret(SECRET_PREFIX.derivedShortToken)
        : undefined
      const sealed = await s.keyring.encrypt(
        unit.trx,
        jwtBinding({ instance_id: instanceId, id }),
        Buffer.from(jwt, 'utf8'),
      )
      const row: AuthenticationTokenTable = {
        id,
        instance_id: instanceId,
        provider_id: provider.id,
        type: 'jwt',
        consumer_id: workload.applicationId,
        consumer_type: 'application',
        creator_id: workload.applicationId,
        creator_type: 'application',
        revoked: 0,
        value_hash: keyedHash(s.keyring.hashKey, jwt),
        value_ciphertext: sealed.ciphertext,
        key_version: sealed.keyVersion,
        short_token_hash: shortToken === undefined ? null : keyedHash(s.keyring.hashKey, shortToken),
        created_at: now,
        updated_at: now,
        expires_at: exp * 1000,
      }
      await insertTokenRecord(unit, row)
      await unit.succeed({
        credentialProvider: provider.identifier,
        authenticationTokenId: id,
        subject: body.subject,
        derivedShortToken: shortToken !== undefined,
        expirationTime: row.expires_at,
      })
      return {
        ...toAuthenticationToken(row),
        jwtContent: { jwtValue: jwt, ...(shortToken === undefined ? {} : { derivedShortToken: shortToken }) },
      }
    },
  )
}

function checkCustomClaims(claims: Record<string, unknown> | undefined): void {
  if (claims === undefined) return
  for (const name of Object.keys(claims)) {
    if (RESERVED_CLAIMS.has(name)) {
      throw new InvalidParameter(
        `customClaims.${name}`,
        'is a registered claim the server sets; it may not be overridden',
        'InvalidParameter.CustomClaims',
      )
    }
  }
  if (Buffer.byteLength(JSON.stringify(claims)) > MAX_CUSTOM_CLAIMS_BYTES) {
    throw new InvalidParameter(
      'customClaims',
      `must be at most ${MAX_CUSTOM_CLAIMS_BYTES} bytes as JSON`,
      'InvalidParameter.CustomClaims',
    )
  }
}

/** The provider's rules on issuer, audiences, expiration and short tokens; a refusal names the field. */
function checkAgainstProvider(
  s: Services,
  provider: CredentialProviderTable,
  settings: JwtSettings,
  body: GenerateJwtBody,
): PamError | undefined {
  if (
    body.issuer !== undefined &&
    body.issuer !== providerIssuer(s, provider, settings) &&
    !settings.allowedIssuers.includes(body.issuer)
  ) {
    return new InvalidParameter(
      'issuer',
      `is not the provider's issuer or in its allow-list`,
      'InvalidParameter.Issuer',
    )
  }
  if (settings.allowedAudiences.length > 0) {
    const index = body.audiences.findIndex(
      (a) => !settings.allowedAudiences.some((rule) => audienceMatches(rule, a)),
    )
    if (index !== -1) {
      return new InvalidParameter(
        `audiences[${index}]`,
        "matches none of the provider's allowed audiences",
        'InvalidParameter.Audiences',
      )
    }
  }
  if (body.expiration !== undefined && body.expiration > settings.maxExpiration) {
    return new InvalidParameter(
      'expiration',
      `must be at most ${settings.maxExpiration} seconds for this provider`,
      'InvalidParameter.Expiration',
    )
  }
  if (body.includeDerivedShortToken && !settings.allowDerivedShortToken) {
    return new PamError(
      'DerivedShortTokenNotAllowed',
      `credential provider ${provider.identifier} does not issue derived short tokens`,
      { field: 'includeDerivedShortToken', rule: 'must be false for this provider' },
    )
  }
  return undefined
}

function audienceMatches(rule: string, audience: string): boolean {
  return rule.endsWith('*') ? audience.startsWith(rule.slice(0, -1)) : rule === audience
}
