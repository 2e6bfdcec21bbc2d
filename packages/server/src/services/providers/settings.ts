import type {
  CreateCredentialProviderBody,
  OAuthAuthMethod,
  ProviderAlgorithm,
  UpdateCredentialProviderBody,
} from '@strongroom/protocol'
import { RESERVED_AUDIENCE_PREFIX } from '@strongroom/protocol'
import { InvalidParameter } from '../../errors.js'
import { checkOutboundEndpoint } from '../outbound-endpoint.js'

/** The non-secret settings of an `oauth` provider, stored as JSON. */
export interface OAuthSettings {
  tokenEndpoint: string
  clientId: string
  authMethod: OAuthAuthMethod
  defaultScope: string
}

/** The non-secret settings of a `jwt` provider, stored as JSON. */
export interface JwtSettings {
  algorithm: ProviderAlgorithm
  /** null: the provider's own URL (providerIssuer). */
  issuer: string | null
  allowedIssuers: string[]
  allowedAudiences: string[]
  defaultExpiration: number
  maxExpiration: number
  allowDerivedShortToken: boolean
}

const DEFAULT_EXPIRATION_S = 900
const DEFAULT_MAX_EXPIRATION_S = 3600
/** An audience a provider may never mint for: IDaaS's own (`urn:cloud:idaas…`). */
export function isReservedAudience(audience: string): boolean {
  return audience.toLowerCase().startsWith(RESERVED_AUDIENCE_PREFIX)
}

function checkAudienceRules(rules: string[], field: string): string[] {
  rules.forEach((rule, i) => {
    if (isReservedAudience(rule))
      throw new InvalidParameter(
        `${field}[${i}]`,
        `must not start with the reserved ${RESERVED_AUDIENCE_PREFIX}`,
      )
    if (rule.indexOf('*') !== -1 && rule.indexOf('*') !== rule.length - 1)
      throw new InvalidParameter(`${field}[${i}]`, 'may hold * only as its last character (a prefix rule)')
  })
  return rules
}

function checkExpirations(settings: JwtSettings, field: string): JwtSettings {
  if (settings.defaultExpiration > settings.maxExpiration) {
    throw new InvalidParameter(
      `${field}.defaultExpiration`,
      `must be at most maxExpiration (${settings.maxExpiration} seconds)`,
    )
  }
  return settings
}

export function newOAuthSettings(body: NonNullable<CreateCredentialProviderBody['oauth']>): OAuthSettings {
  return {
    tokenEndpoint: checkOutboundEndpoint(body.tokenEndpoint, 'oauth.tokenEndpoint').href,
    clientId: body.clientId,
    authMethod: body.authMethod ?? 'client_secret_post',
    defaultScope: body.defaultScope ?? '',
  }
}

export function newJwtSettings(body: NonNullable<CreateCredentialProviderBody['jwt']>): JwtSettings {
  const maxExpiration = body.maxExpiration ?? Math.max(DEFAULT_MAX_EXPIRATION_S, body.defaultExpiration ?? 0)
  return checkExpirations(
    {
      algorithm: body.algorithm ?? 'EdDSA',
      issuer: body.issuer ?? null,
      allowedIssuers: body.allowedIssuers ?? [],
      allowedAudiences: checkAudienceRules(body.allowedAudiences ?? [], 'jwt.allowedAudiences'),
      defaultExpiration: body.defaultExpiration ?? Math.min(DEFAULT_EXPIRATION_S, maxExpiration),
      maxExpiration,
      allowDerivedShortToken: body.allowDerivedShortToken ?? true,
    },
    'jwt',
  )
}

/** The rule an update breaks when it moves the token endpoint without the client secret. */
export const CLIENT_SECRET_FOR_NEW_ORIGIN = 'is required when tokenEndpoint moves to another origin'

/**
 * The settings after an update. The client secret goes to the token endpoint on every fetch, and no
 * API shows it: an update that moves the endpoint to another origin (scheme, host or port) must
 * give the secret again, or an administrator could send the kept secret to a server of their own.
 */
export function updatedOAuthSettings(
  current: OAuthSettings,
  patch: NonNullable<UpdateCredentialProviderBody['oauth']>,
): OAuthSettings {
  const tokenEndpoint =
    patch.tokenEndpoint === undefined
      ? current.tokenEndpoint
      : checkOutboundEndpoint(patch.tokenEndpoint, 'oauth.tokenEndpoint').href
  if (patch.clientSecret === undefined && !sameOrigin(tokenEndpoint, current.tokenEndpoint)) {
    throw new InvalidParameter('oauth.clientSecret', CLIENT_SECRET_FOR_NEW_ORIGIN)
  }
  return {
    tokenEndpoint,
    clientId: patch.clientId ?? current.clientId,
    authMethod: patch.authMethod ?? current.authMethod,
    defaultScope: patch.defaultScope ?? current.defaultScope,
  }
}

/** Whether two endpoints share scheme, host and port (a default port counts as given). */
function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin
  } catch {
    return false
  }
}

export function updatedJwtSettings(
  current: JwtSettings,
  patch: NonNullable<UpdateCredentialProviderBody['jwt']>,
): JwtSettings {
  return checkExpirations(
    {
      algorithm: current.algorithm,
      issuer: patch.issuer === undefined ? current.issuer : patch.issuer,
      allowedIssuers: patch.allowedIssuers ?? current.allowedIssuers,
      allowedAudiences:
        patch.allowedAudiences === undefined
          ? current.allowedAudiences
          : checkAudienceRules(patch.allowedAudiences, 'jwt.allowedAudiences'),
      defaultExpiration: patch.defaultExpiration ?? current.defaultExpiration,
      maxExpiration: patch.maxExpiration ?? current.maxExpiration,
      allowDerivedShortToken: patch.allowDerivedShortToken ?? current.allowDerivedShortToken,
    },
    'jwt',
  )
}
