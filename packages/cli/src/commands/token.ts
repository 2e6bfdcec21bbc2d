import { type Command, InvalidArgumentError, Option } from 'commander'
import { CliError } from '../errors.js'
import { parsePositiveInteger } from '../option-parsers.js'
import { revealedJson } from '../workload/revealed-json.js'
import { type SecretOutputOptions, writeSecret } from '../workload/secret-output.js'
import { configOption, type WorkloadOptions, workloadClient } from '../workload/workload-client.js'
import type { ContextFor } from './context-for.js'

interface JwtOptions extends WorkloadOptions, SecretOutputOptions {
  provider: string
  subject: string
  audience: string[]
  issuer?: string
  expiration?: number
  claim: Record<string, unknown>
  claims?: Record<string, unknown>
  shortToken?: boolean
}

interface OAuthOptions extends WorkloadOptions, SecretOutputOptions {
  provider: string
  scope?: string
  param: Record<string, string>
  force?: boolean
}

/**
 * `strongroom token jwt|oauth`: a token minted by a credential provider, for a workload, with the
 * same client configuration as the SDK. The token goes to stdout (or a 0600 file), nowhere else.
 */
export function registerTokenCommands(program: Command, contextFor: ContextFor): void {
  const token = program
    .command('token')
    .description(
      'mint a token from a credential provider as a workload (client configuration as the SDK reads it)',
    )

  token
    .command('jwt')
    .description('a JWT signed by a jwt credential provider (GenerateJwtAuthenticationToken)')
    .requiredOption('--provider <identifier>', 'the credential provider identifier')
    .requiredOption('--subject <sub>', 'the token’s subject')
    .requiredOption('--audience <aud>', 'an audience (repeat for several)', collect, [])
    .option('--issuer <iss>', 'an issuer from the provider’s allow-list (default: the provider’s)')
    .addOption(
      new Option('--expiration <seconds>', 'lifetime in seconds (default: the provider’s)').argParser(
        parsePositiveInteger,
      ),
    )
    .option('--claim <name=value>', 'a custom claim, a string (repeat for several)', claimOf, {})
    .option('--claims <json>', 'custom claims as a JSON object (values of any JSON type)', jsonObject)
    .option('--short-token', 'also derive a short token (printed on a second line, or in --json)')
    .addOption(configOption())
    .addOption(new Option('--out <file>', 'write the token to FILE (mode 0600) instead of stdout'))
    .action(async (options: JwtOptions, command: Command) => {
      const ctx = contextFor(command)
      await using pam = await workloadClient(ctx, options)
      const customClaims = { ...options.claims, ...options.claim }
      const result = await pam.generateJwtAuthenticationToken({
        credentialProviderIdentifier: options.provider,
        subject: options.subject,
        audiences: options.audience,
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        ...(options.expiration === undefined ? {} : { expiration: options.expiration }),
        ...(Object.keys(customClaims).length === 0 ? {} : { customClaims }),
        ...(options.shortToken === true ? { includeDerivedShortToken: true } : {}),
      })
      const { jwtValue, derivedShortToken } = result.jwtContent
      ctx.rememberSecret(jwtValue)
      if (derivedShortToken) ctx.rememberSecret(derivedShortToken)
      if (ctx.out.json) return writeSecret(ctx, revealedJson(result), options)
      await writeSecret(ctx, derivedShortToken ? `${jwtValue}\n${derivedShortToken}` : jwtValue, options)
    })

  token
    .command('oauth')
    .description(
      'an access token from an oauth credential provider’s upstream (FetchOAuthAuthenticationToken)',
    )
    .requiredOption('--provider <identifier>', 'the credential provider identifier')
    .option('--scope <scope>', 'the scope to ask upstream for (default: the provider’s)')
    .option('--param <name=value>', 'a custom parameter for the upstream request (repeat)', paramOf, {})
    .option('--force', 'ask upstream for a new token instead of the shared one')
    .addOption(configOption())
    .addOption(new Option('--out <file>', 'write the token to FILE (mode 0600) instead of stdout'))
    .action(async (options: OAuthOptions, command: Command) => {
      const ctx = contextFor(command)
      await using pam = await workloadClient(ctx, options)
      const result = await pam.fetchOAuthAuthenticationToken({
        credentialProviderIdentifier: options.provider,
        ...(options.scope === undefined ? {} : { scope: options.scope }),
        ...(Object.keys(options.param).length === 0 ? {} : { customParameters: options.param }),
        ...(options.force === true ? { forceAuthentication: true } : {}),
      })
      const value = result.oauthAccessTokenContent?.accessTokenValue
      if (value === undefined) {
        throw new CliError(
          'ApiError',
          `credential provider ${options.provider} answered without an access token: a user must authorize it first`,
        )
      }
      ctx.rememberSecret(value)
      if (ctx.out.json) return writeSecret(ctx, revealedJson(result), options)
      await writeSecret(ctx, value, options)
    })
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function pair(text: string): [string, string] {
  const eq = text.indexOf('=')
  if (eq < 1) throw new InvalidArgumentError('expected name=value')
  return [text.slice(0, eq), text.slice(eq + 1)]
}

function claimOf(text: string, previous: Record<string, unknown>): Record<string, unknown> {
  const [name, value] = pair(text)
  return { ...previous, [name]: value }
}

function paramOf(text: string, previous: Record<string, string>): Record<string, string> {
  const [name, value] = pair(text)
  return { ...previous, [name]: value }
}

function jsonObject(text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new InvalidArgumentError('expected a JSON object')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError('expected a JSON object')
  return value as Record<string, unknown>
}
