import {
  AUTHN_METHODS,
  type AuthnConfiguration,
  type AuthnMethod,
  CLIENT_DEPLOY_ENVIRONMENTS,
  type ClientConfig,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HUMAN_AUTHENTICATE_CLIENT_ID,
  DEFAULT_READ_TIMEOUT_MS,
  DEFAULT_SCOPE,
  type HttpConfiguration,
  IDENTITY_TYPES,
  MAX_TIMEOUT_MS,
  MIN_TIMEOUT_MS,
} from './client-config.js'
import { fileError } from './config-error.js'
import { ConfigObject } from './config-object.js'
import { normaliseEndpoint, warnIfPlainHttp } from './endpoint-url.js'
import { jsonErrorPosition } from './json-error-position.js'

/**
 * Parses the text of an IDaaS client configuration file into a {@link ClientConfig}: keys in
 * camelCase or snake_case at every level, endpoints normalised, timeouts checked, defaults filled
 * in. `source` names the file in error messages. Use {@link loadClientConfig} to find and read the
 * file; use this when the text comes from elsewhere (a mounted secret, a test).
 *
 * @throws {ConfigurationError} naming `source`, the key as written and the rule it breaks.
 *
 * @example
 * ```ts
 * const config = parseClientConfig(await readFile('/etc/app/idaas.json', 'utf8'), '/etc/app/idaas.json')
 * config.httpConfiguration.readTimeout // 10000 unless the file says otherwise
 * ```
 */
export function parseClientConfig(text: string, source: string): ClientConfig {
  const root = ConfigObject.root(source, parseJson(text, source))
  const idaasInstanceId = required(root, 'idaasInstanceId', root.string('idaasInstanceId'))
  const clientId = required(root, 'clientId', root.string('clientId'))
  const issuer = required(root, 'issuer', endpoint(root, 'issuer'))
  const tokenEndpoint = required(root, 'tokenEndpoint', endpoint(root, 'tokenEndpoint'))
  const scope = root.string('scope') ?? DEFAULT_SCOPE
  const deviceAuthorizationEndpoint = endpoint(root, 'deviceAuthorizationEndpoint')
  const developerApiEndpoint = endpoint(root, 'developerApiEndpoint')
  const openApiEndpoint = endpoint(root, 'openApiEndpoint')

  const authn = root.object('authnConfiguration')
  if (authn === undefined) throw root.error('authnConfiguration', 'is required')
  const authnConfiguration = readAuthnConfiguration(authn)
  if (authnConfiguration.identityType === 'HUMAN' && deviceAuthorizationEndpoint === undefined) {
    throw root.error('deviceAuthorizationEndpoint', 'is required when identityType is HUMAN')
  }
  const httpConfiguration = readHttpConfiguration(root.object('httpConfiguration'))

  return Object.freeze({
    source,
    idaasInstanceId,
    clientId,
    issuer,
    tokenEndpoint,
    scope,
    ...withoutUndefined({ deviceAuthorizationEndpoint, developerApiEndpoint, openApiEndpoint }),
    authnConfiguration,
    httpConfiguration,
  })
}

function parseJson(text: string, source: string): unknown {
  // Editors on Windows may save a byte order mark; JSON.parse refuses it.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text
  try {
    return JSON.parse(body)
  } catch {
    // The SyntaxError is not kept as `cause`: its message may quote the file's text.
    const at = jsonErrorPosition(body)
    const where = at === undefined ? '' : ` at line ${at.line}, column ${at.column}: ${at.problem}`
    throw fileError(source, `is not valid JSON${where}`)
  }
}

function required(object: ConfigObject, name: string, value: string | undefined): string {
  if (value === undefined) throw object.error(name, 'is required')
  return value
}

function endpoint(object: ConfigObject, name: string): string | undefined {
  const written = object.string(name)
  if (written === undefined) return undefined
  const result = normaliseEndpoint(written)
  if (!result.ok) throw object.error(name, result.rule)
  warnIfPlainHttp(result.url)
  return result.url
}

/** What each method needs besides the method itself, as the official `ValidatorUtil` checks it. */
const REQUIRED_BY_METHOD: Readonly<Record<AuthnMethod, readonly (keyof AuthnConfiguration)[]>> = {
  NONE: [],
  CLIENT_SECRET_POST: ['clientSecretEnvVarName'],
  CLIENT_SECRET_BASIC: ['clientSecretEnvVarName'],
  CLIENT_SECRET_JWT: ['clientSecretEnvVarName'],
  PRIVATE_KEY_JWT: ['privateKeyEnvVarName'],
  PKCS7: ['applicationFederatedCredentialName', 'clientDeployEnvironment'],
  OIDC: ['applicationFederatedCredentialName', 'clientDeployEnvironment'],
  PCA: [
    'applicationFederatedCredentialName',
    'clientX509Certificate',
    'x509CertChains',
    'privateKeyEnvVarName',
  ],
  PLUGIN: ['pluginName'],
}

function readAuthnConfiguration(authn: ConfigObject): AuthnConfiguration {
  // `authenticationSubject` is the legacy name the Python core SDK still accepts.
  const identityType = authn.oneOf(IDENTITY_TYPES, 'identityType', 'authenticationSubject') ?? 'CLIENT'
  const authnMethod = authn.oneOf(AUTHN_METHODS, 'authnMethod') ?? 'NONE'
  const clientDeployEnvironment = authn.oneOf(CLIENT_DEPLOY_ENVIRONMENTS, 'clientDeployEnvironment')
  const optional = {
    clientSecretEnvVarName: envVarName(authn, 'clientSecretEnvVarName'),
    privateKeyEnvVarName: envVarName(authn, 'privateKeyEnvVarName'),
    applicationFederatedCredentialName: authn.string('applicationFederatedCredentialName'),
    clientDeployEnvironment,
    oidcTokenFilePathEnvVarName: envVarName(authn, 'oidcTokenFilePathEnvVarName'),
    oidcTokenFilePath: authn.string('oidcTokenFilePath'),
    clientX509Certificate: authn.string('clientX509Certificate'),
    x509CertChains: authn.string('x509CertChains'),
    pluginName: authn.string('pluginName'),
  }
  for (const name of REQUIRED_BY_METHOD[authnMethod]) {
    if (optional[name as keyof typeof optional] === undefined) {
      throw authn.error(name, `is required when authnMethod is ${authnMethod}`)
    }
  }
  return Object.freeze({
    identityType,
    authnMethod,
    humanAuthenticateClientId:
      authn.string('humanAuthenticateClientId') ?? DEFAULT_HUMAN_AUTHENTICATE_CLIENT_ID,
    ...withoutUndefined(optional),
  })
}

/**
 * The file names environment variables; a value that cannot be one is most likely the secret itself
 * pasted in the wrong place, so it is refused here, before anything could print it.
 */
function envVarName(authn: ConfigObject, name: string): string | undefined {
  const value = authn.string(name)
  if (value !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
    throw authn.error(
      name,
      'must be the name of an environment variable (letters, digits and _), not a value',
    )
  }
  return value
}

function readHttpConfiguration(http: ConfigObject | undefined): HttpConfiguration {
  const timeout = (name: string, fallback: number): number =>
    http?.integer(name, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, 'milliseconds') ?? fallback
  return Object.freeze({
    connectTimeout: timeout('connectTimeout', DEFAULT_CONNECT_TIMEOUT_MS),
    readTimeout: timeout('readTimeout', DEFAULT_READ_TIMEOUT_MS),
    unsafeIgnoreSslCert: http?.boolean('unsafeIgnoreSslCert') ?? false,
  })
}

/** Drops `undefined` members, so optional properties are absent rather than `undefined`. */
function withoutUndefined<T extends object>(members: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(members).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }
}
