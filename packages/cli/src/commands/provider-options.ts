import type {
  CreateCredentialProviderBody,
  OAuthAuthMethod,
  ProviderAlgorithm,
  ProviderType,
  UpdateCredentialProviderBody,
} from '@strongroom/protocol'
import { type Command, Option } from 'commander'
import { compact } from '../compact.js'
import type { Context } from '../context.js'
import { UsageError } from '../errors.js'
import { OAUTH_AUTH_METHODS, PROVIDER_ALGORITHMS, parseSeconds } from '../option-parsers.js'
import { readSecretFile, readSecretInput } from '../read-secret.js'

/** The settings options of `provider create|update`, as commander hands them over. */
export interface ProviderSettingOptions {
  tokenEndpoint?: string
  clientId?: string
  authMethod?: OAuthAuthMethod
  defaultScope?: string
  clientSecretFile?: string
  algorithm?: ProviderAlgorithm
  issuer?: string
  allowedIssuer?: string[]
  allowedAudience?: string[]
  /** `--default-issuer` (update): the provider's own URL again. */
  defaultIssuer?: boolean
  /** `--no-allowed-issuers` (update): false when given. */
  allowedIssuers?: boolean
  /** `--no-allowed-audiences` (update): false when given. */
  allowedAudiences?: boolean
  defaultExpiration?: number
  maxExpiration?: number
  derivedShortToken?: boolean
}

/** An option that applies to providers of one type only. */
export interface TypedOption {
  type: ProviderType
  option: Option
}

/** Commander's accumulator for a repeatable option; a value given twice is sent once. */
const repeat = (value: string, previous: string[] | undefined): string[] => [
  ...new Set([...(previous ?? []), value]),
]

/**
 * The options of each provider type. `update` cannot change the algorithm (the key is made at
 * creation), replaces the allowed lists or empties them. The client secret is read from a file or
 * stdin only.
 */
export function providerSettingOptions(mode: 'create' | 'update'): TypedOption[] {
  const update = mode === 'update'
  // The server's defaults, told only where they apply: at creation.
  const dflt = (value: string) => (update ? '' : ` (default: ${value})`)
  const list = update ? 'replaces the list; repeatable' : 'repeatable'
  const oauth = (option: Option): TypedOption => ({ type: 'oauth', option })
  const jwt = (option: Option): TypedOption => ({ type: 'jwt', option })
  return [
    oauth(new Option('--token-endpoint <url>', 'the upstream token endpoint (https, or http on loopback)')),
    oauth(new Option('--client-id <id>', 'the client id at the upstream')),
    oauth(
      new Option(
        '--auth-method <method>',
        `how the client authenticates upstream${dflt('client_secret_post')}`,
      ).choices(OAUTH_AUTH_METHODS),
    ),
    oauth(new Option('--default-scope <scope>', 'the scope sent upstream when the caller names none')),
    oauth(
      new Option(
        '--client-secret-file <path>',
        update
          ? 'replace the client secret: read it from PATH, or - for stdin (a --token-endpoint on another origin needs it: without this option, from stdin or a hidden prompt)'
          : 'read the client secret from PATH, or - for stdin (default: stdin, or a hidden prompt on a terminal)',
      ),
    ),
    ...(update
      ? []
      : [
          jwt(
            new Option('--algorithm <alg>', `the signing algorithm${dflt('EdDSA')}`).choices(
              PROVIDER_ALGORITHMS,
            ),
          ),
        ]),
    jwt(new Option('--issuer <url>', `the iss of JWTs that name none${dflt("the provider's own URL")}`)),
    jwt(
      new Option(
        '--allowed-issuer <url>',
        `an issuer callers may ask for besides the default (${list})`,
      ).argParser(repeat),
    ),
    jwt(
      new Option(
        '--allowed-audience <aud>',
        `an audience callers may ask for, or a prefix ending in * (${list})${dflt('any')}`,
      ).argParser(repeat),
    ),
    ...(update
      ? [
          jwt(new Option('--no-allowed-issuers', 'allow only the default issuer').conflicts('allowedIssuer')),
          jwt(
            new Option('--default-issuer', "go back to the provider's own URL as issuer").conflicts('issuer'),
          ),
          jwt(new Option('--no-allowed-audiences', 'allow any audience').conflicts('allowedAudience')),
        ]
      : []),
    jwt(
      new Option(
        '--default-expiration <seconds>',
        `JWT lifetime when the caller names none${dflt('900')}`,
      ).argParser(parseSeconds),
    ),
    jwt(
      new Option(
        '--max-expiration <seconds>',
        `the longest JWT lifetime a caller may ask for${dflt('3600')}`,
      ).argParser(parseSeconds),
    ),
    jwt(
      new Option(
        '--derived-short-token',
        `let callers ask for a derived short token (sk-…) with each JWT${dflt('yes')}`,
      ),
    ),
    jwt(new Option('--no-derived-short-token', 'never issue derived short tokens')),
  ]
}

/** The options of `options` given on the command line (not defaults). */
export function givenOptions(command: Command, options: readonly TypedOption[]): TypedOption[] {
  return options.filter(({ option }) => {
    const attribute = option.attributeName()
    if (command.getOptionValueSource(attribute) !== 'cli') return false
    // `--x` and `--no-x` share one value: only the one that set it was given.
    const value: unknown = command.getOptionValue(attribute)
    return option.negate ? value === false : option.isBoolean() ? value === true : true
  })
}

/** Refuses, before anything is read or sent, an option of the other provider type. */
export function checkProviderOptions(given: readonly TypedOption[], type: ProviderType, why = ''): void {
  const wrong = given.find((o) => o.type !== type)
  if (wrong !== undefined) {
    throw new UsageError(`${wrong.option.long} applies only to ${wrong.type} providers${why}`)
  }
}

/** `oauth` of a create body: endpoint and client id are required, the secret is read here. */
export async function newOAuthSettings(
  ctx: Context,
  options: ProviderSettingOptions,
): Promise<NonNullable<CreateCredentialProviderBody['oauth']>> {
  const { tokenEndpoint, clientId } = requireOAuthOptions(options)
  return compact({
    tokenEndpoint,
    clientId,
    clientSecret: await readClientSecret(ctx, options.clientSecretFile),
    authMethod: options.authMethod,
    defaultScope: options.defaultScope,
  })
}

/** Checks an oauth create's required options, so that it fails before any secret is read. */
export function requireOAuthOptions(options: ProviderSettingOptions): {
  tokenEndpoint: string
  clientId: string
} {
  if (options.tokenEndpoint === undefined) throw new UsageError('an oauth provider needs --token-endpoint')
  if (options.clientId === undefined) throw new UsageError('an oauth provider needs --client-id')
  return { tokenEndpoint: options.tokenEndpoint, clientId: options.clientId }
}

/** `jwt` of a create body, or undefined when no jwt option was given (the server's defaults). */
export function newJwtSettings(options: ProviderSettingOptions): CreateCredentialProviderBody['jwt'] {
  return nonEmpty(
    compact({
      algorithm: options.algorithm,
      issuer: options.issuer,
      allowedIssuers: options.allowedIssuer,
      allowedAudiences: options.allowedAudience,
      defaultExpiration: options.defaultExpiration,
      maxExpiration: options.maxExpiration,
      allowDerivedShortToken: options.derivedShortToken,
    }),
  )
}

/**
 * `oauth` of an update body: only what was given. The secret is read with `--client-secret-file`,
 * and also (from stdin or a hidden prompt, as `provider create` reads it) when `--token-endpoint`
 * moves the endpoint to another origin than `currentEndpoint`: the server refuses that move
 * without the secret, so that a kept secret never goes to a server someone else chose.
 */
export async function oauthChanges(
  ctx: Context,
  options: ProviderSettingOptions,
  currentEndpoint?: string,
): Promise<UpdateCredentialProviderBody['oauth']> {
  const moves =
    options.tokenEndpoint !== undefined &&
    currentEndpoint !== undefined &&
    movesOrigin(currentEndpoint, options.tokenEndpoint)
  return nonEmpty(
    compact({
      tokenEndpoint: options.tokenEndpoint,
      clientId: options.clientId,
      clientSecret:
        options.clientSecretFile === undefined && !moves
          ? undefined
          : await readClientSecret(ctx, options.clientSecretFile),
      authMethod: options.authMethod,
      defaultScope: options.defaultScope,
    }),
  )
}

/**
 * Whether `next` is on another origin (scheme, host, port) than `current`. A `next` that is no URL
 * moves nothing here: the server refuses it, and no secret is read for it.
 */
function movesOrigin(current: string, next: string): boolean {
  try {
    return new URL(next).origin !== new URL(current).origin
  } catch {
    return false
  }
}

/** `jwt` of an update body: only what was given. */
export function jwtChanges(options: ProviderSettingOptions): UpdateCredentialProviderBody['jwt'] {
  return nonEmpty(
    compact({
      issuer: options.defaultIssuer ? null : options.issuer,
      allowedIssuers: options.allowedIssuers === false ? [] : options.allowedIssuer,
      allowedAudiences: options.allowedAudiences === false ? [] : options.allowedAudience,
      defaultExpiration: options.defaultExpiration,
      maxExpiration: options.maxExpiration,
      allowDerivedShortToken: options.derivedShortToken,
    }),
  )
}

const nonEmpty = <T extends object>(object: T): T | undefined =>
  Object.keys(object).length > 0 ? object : undefined

/**
 * The upstream client secret: from `--client-secret-file PATH`, from stdin (`-`, or when stdin is
 * not a terminal), else a hidden prompt. Never from an argument; kept out of any error line.
 */
async function readClientSecret(ctx: Context, file: string | undefined): Promise<string> {
  const secret =
    file === undefined || file === '-'
      ? await readSecretInput({
          file,
          stdin: ctx.io.stdin,
          stderr: ctx.io.stderr,
          prompt: 'Client secret: ',
          what: 'client secret',
        })
      : await readSecretFile(file, '--client-secret-file')
  ctx.rememberSecret(secret)
  return secret
}
