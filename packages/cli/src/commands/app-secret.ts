import type {
  ClientSecret,
  CreateClientSecretBody,
  CreatedClientSecret,
  RevokeClientSecretBody,
  RevokedClientSecret,
} from '@strongroom/protocol'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { segment } from '../context.js'
import { parseSeconds } from '../option-parsers.js'
import { clientSecretColumns, revokedClientSecretFields } from '../views.js'
import { applicationPath } from './application-path.js'
import { type ContextFor, limitOption } from './context-for.js'

/** `strongroom app secret create|list|revoke`: an application's client secrets. */
export function registerAppSecretCommands(app: Command, contextFor: ContextFor): void {
  const secret = app.command('secret').description("manage an application's client secrets")

  secret
    .command('create')
    .description('create a client secret (printed once on stdout)')
    .argument('<application-id>', 'app_…')
    .option('--expires-in <seconds>', 'lifetime in seconds (default: no expiry)', parseSeconds)
    .action(async (applicationId: string, options: { expiresIn?: number }, command: Command) => {
      const ctx = contextFor(command)
      const body: CreateClientSecretBody = compact({ expiresInSeconds: options.expiresIn })
      const path = `${await applicationPath(ctx, applicationId)}/client-secrets`
      const created = await ctx.client().post<CreatedClientSecret>(path, body)
      ctx.rememberSecret(created.clientSecret)
      ctx.out.note(
        `Created client secret ${created.clientSecretId} for ${created.applicationId}. ` +
          'Store it now: it will not be shown again.',
      )
      if (ctx.out.json) await ctx.out.printJson(created)
      else await ctx.out.line(created.clientSecret)
    })

  secret
    .command('list')
    .description("list an application's client secrets")
    .argument('<application-id>', 'app_…')
    .addOption(limitOption())
    .action(async (applicationId: string, options: { limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const path = `${await applicationPath(ctx, applicationId)}/client-secrets`
      await ctx.out.list(
        clientSecretColumns,
        await ctx.client().list<ClientSecret>(path, {}, { limit: options.limit }),
      )
    })

  secret
    .command('revoke')
    .description(
      'revoke a client secret; the access tokens issued with it stay valid until they expire, unless --revoke-tokens',
    )
    .argument('<application-id>', 'app_…')
    .argument('<client-secret-id>', 'cs_…')
    .option('--revoke-tokens', 'also revoke the access tokens issued with this secret, at once')
    .action(
      async (
        applicationId: string,
        clientSecretId: string,
        options: { revokeTokens?: boolean },
        command: Command,
      ) => {
        const ctx = contextFor(command)
        const path = `${await applicationPath(ctx, applicationId)}/client-secrets/${segment(clientSecretId)}/revoke`
        const body: RevokeClientSecretBody = options.revokeTokens ? { revokeTokens: true } : {}
        const revoked = await ctx.client().post<RevokedClientSecret>(path, body)
        ctx.out.note(
          options.revokeTokens
            ? `Revoked ${revoked.tokensRevoked} access token(s) issued with ${revoked.clientSecretId}.`
            : `Access tokens issued with ${revoked.clientSecretId} stay valid until they expire; run again with --revoke-tokens to revoke them.`,
        )
        await ctx.out.record(revokedClientSecretFields, revoked)
      },
    )
}
