import type {
  AuthenticationToken,
  CreateCredentialProviderBody,
  CredentialProvider,
  CredentialProviderListQuery,
  ProviderTokenListQuery,
  ProviderTokensChanged,
  ProviderTokensSelection,
  ProviderType,
  UpdateCredentialProviderBody,
} from '@strongroom/protocol'
import { type Command, Option } from 'commander'
import { compact } from '../compact.js'
import { type Context, segment } from '../context.js'
import { UsageError } from '../errors.js'
import { PROVIDER_TYPES } from '../option-parsers.js'
import { authenticationTokenColumns, credentialProviderColumns, credentialProviderFields } from '../views.js'
import { type ContextFor, limitOption } from './context-for.js'
import {
  checkProviderOptions,
  givenOptions,
  jwtChanges,
  newJwtSettings,
  newOAuthSettings,
  oauthChanges,
  type ProviderSettingOptions,
  providerSettingOptions,
  requireOAuthOptions,
} from './provider-options.js'

/** `{i}/credential-providers[/:provider]`, where `:provider` is an id (`atp_…`) or an identifier. */
function providerPath(ctx: Context, provider?: string): Promise<string> {
  return ctx.instancePath(
    provider === undefined ? '/credential-providers' : `/credential-providers/${segment(provider)}`,
  )
}

const PROVIDER_ARGUMENT = ['<provider>', 'the provider id (atp_…) or identifier'] as const

const showProvider = (ctx: Context, provider: CredentialProvider) =>
  ctx.out.record(credentialProviderFields(provider), provider)

interface DescribedOptions {
  name?: string
  description?: string
}

/**
 * `strongroom provider …`: credential providers, which mint tokens for workloads, from an upstream
 * OAuth server (`oauth`) or with a signing key of their own (`jwt`). Secrets never come from arguments.
 */
export function registerProviderCommands(program: Command, contextFor: ContextFor): void {
  const provider = program
    .command('provider')
    .description('manage credential providers (oauth upstreams and jwt issuers)')

  const createSettings = providerSettingOptions('create')
  const create = provider
    .command('create')
    .description(
      'create a credential provider; an oauth client secret comes from --client-secret-file, stdin or a hidden prompt',
    )
    .requiredOption('--identifier <identifier>', 'the unique identifier, e.g. payments/upstream')
    .addOption(new Option('--type <type>', 'the provider type').choices(PROVIDER_TYPES).makeOptionMandatory())
    .option('--name <name>', 'a display name (default: the identifier)')
    .option('--description <text>', 'what the provider is for')
  for (const { option } of createSettings) create.addOption(option)
  create.action(
    async (
      options: ProviderSettingOptions & DescribedOptions & { identifier: string; type: ProviderType },
      command: Command,
    ) => {
      checkProviderOptions(givenOptions(command, createSettings), options.type)
      if (options.type === 'oauth') requireOAuthOptions(options)
      const ctx = contextFor(command)
      const client = ctx.client()
      const path = await providerPath(ctx)
      const body: CreateCredentialProviderBody = compact({
        credentialProviderIdentifier: options.identifier,
        credentialProviderName: options.name,
        credentialProviderType: options.type,
        description: options.description,
        oauth: options.type === 'oauth' ? await newOAuthSettings(ctx, options) : undefined,
        jwt: options.type === 'jwt' ? newJwtSettings(options) : undefined,
      })
      await showProvider(ctx, await client.post<CredentialProvider>(path, body))
    },
  )

  provider
    .command('list')
    .description('list credential providers')
    .addOption(new Option('--type <type>', 'only this type').choices(PROVIDER_TYPES))
    .addOption(limitOption())
    .action(async (options: { type?: ProviderType; limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const client = ctx.client()
      const query: CredentialProviderListQuery = compact({ credentialProviderType: options.type })
      const providers = await client.list<CredentialProvider>(await providerPath(ctx), query, {
        limit: options.limit,
      })
      await ctx.out.list(credentialProviderColumns, providers)
    })

  provider
    .command('show')
    .description('show a credential provider (never a secret)')
    .argument(...PROVIDER_ARGUMENT)
    .action(async (ref: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await showProvider(ctx, await ctx.client().get<CredentialProvider>(await providerPath(ctx, ref)))
    })

  const updateSettings = providerSettingOptions('update')
  const update = provider
    .command('update')
    .description(
      "change a provider's name, description or settings; --client-secret-file replaces an oauth client secret (read again when --token-endpoint moves to another origin)",
    )
    .argument(...PROVIDER_ARGUMENT)
    .option('--name <name>', 'the new display name')
    .option('--description <text>', 'the new description')
  for (const { option } of updateSettings) update.addOption(option)
  update.action(async (ref: string, options: ProviderSettingOptions & DescribedOptions, command: Command) => {
    const given = givenOptions(command, updateSettings)
    if (options.name === undefined && options.description === undefined && given.length === 0) {
      throw new UsageError('provider update needs --name, --description or a setting of the provider type')
    }
    const ctx = contextFor(command)
    const client = ctx.client()
    const path = await providerPath(ctx, ref)
    let current: CredentialProvider | undefined
    if (given.length > 0) {
      // The type decides which settings apply: checked before any secret is read.
      current = await client.get<CredentialProvider>(path)
      const type = current.credentialProviderType
      checkProviderOptions(
        given,
        type,
        `; ${current.credentialProviderIdentifier} is a provider of type ${type}`,
      )
    }
    const body: UpdateCredentialProviderBody = compact({
      credentialProviderName: options.name,
      description: options.description,
      // A new token endpoint on another origin needs the client secret again (read here).
      oauth: await oauthChanges(ctx, options, current?.oauth?.tokenEndpoint),
      jwt: jwtChanges(options),
    })
    await showProvider(ctx, await client.patch<CredentialProvider>(path, body))
  })

  for (const action of ['disable', 'enable'] as const) {
    provider
      .command(action)
      .description(`${action} a credential provider${action === 'disable' ? ' (it mints nothing)' : ''}`)
      .argument(...PROVIDER_ARGUMENT)
      .action(async (ref: string, _options: object, command: Command) => {
        const ctx = contextFor(command)
        const changed = await ctx
          .client()
          .post<CredentialProvider>(`${await providerPath(ctx, ref)}/${action}`)
        await showProvider(ctx, changed)
      })
  }

  provider
    .command('tokens')
    .description('list the tokens a provider minted (never their values)')
    .argument(...PROVIDER_ARGUMENT)
    .option('--consumer <application>', "only this consumer's tokens")
    .addOption(new Option('--revoked', 'only revoked tokens').conflicts('active'))
    .addOption(new Option('--active', 'only tokens not revoked'))
    .option('--expired', 'only expired tokens')
    .addOption(limitOption())
    .action(
      async (
        ref: string,
        options: {
          consumer?: string
          revoked?: boolean
          active?: boolean
          expired?: boolean
          limit?: number
        },
        command: Command,
      ) => {
        const ctx = contextFor(command)
        const query: ProviderTokenListQuery = compact({
          consumerId: options.consumer,
          revoked: options.revoked ? true : options.active ? false : undefined,
          expired: options.expired ? true : undefined,
        })
        const tokens = await ctx
          .client()
          .list<AuthenticationToken>(`${await providerPath(ctx, ref)}/tokens`, query, {
            limit: options.limit,
          })
        await ctx.out.list(authenticationTokenColumns, tokens)
      },
    )

  for (const action of ['revoke', 'reinstate'] as const) {
    provider
      .command(`${action}-tokens`)
      .description(
        `${action} one token, one consumer's tokens, or (with --all) every token of a provider; idempotent`,
      )
      .argument(...PROVIDER_ARGUMENT)
      .option('--consumer <application>', "this consumer's tokens")
      .option('--token <atntkn_id>', 'this token')
      .option('--all', 'every token of the provider')
      .action(
        async (
          ref: string,
          options: { consumer?: string; token?: string; all?: boolean },
          command: Command,
        ) => {
          const chosen = [options.consumer, options.token, options.all].filter((o) => o !== undefined)
          if (chosen.length !== 1) {
            throw new UsageError(
              `provider ${action}-tokens needs exactly one of --consumer, --token and --all`,
            )
          }
          const ctx = contextFor(command)
          const body: ProviderTokensSelection = compact({
            consumerId: options.consumer,
            authenticationTokenId: options.token,
          })
          const result = await ctx
            .client()
            .post<ProviderTokensChanged>(`${await providerPath(ctx, ref)}/tokens/${action}`, body)
          if (ctx.out.json) await ctx.out.printJson(result)
          else await ctx.out.line(`${result.changed} token(s) ${action}d`)
        },
      )
  }
}
