import type { AdminToken, CreateAdminTokenBody, CreatedAdminToken } from '@strongroom/protocol'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { segment } from '../context.js'
import { parseSeconds } from '../option-parsers.js'
import { adminTokenColumns, adminTokenFields } from '../views.js'
import { type ContextFor, limitOption } from './context-for.js'

const ADMIN_TOKENS = '/admin/v1/admin-tokens'

/** `strongroom admin-token create|list|revoke`. */
export function registerAdminTokenCommands(program: Command, contextFor: ContextFor): void {
  const adminToken = program.command('admin-token').description('manage admin API tokens')

  adminToken
    .command('create')
    .description('create an admin token (printed once on stdout)')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--instance-scope <instance-id>', 'limit the token to one instance (default: all instances)')
    .option(
      '--expires-in <seconds>',
      'lifetime in seconds, at most what the admin token you use has left (default: that, when it expires; otherwise no expiry)',
      parseSeconds,
    )
    .action(
      async (options: { name: string; instanceScope?: string; expiresIn?: number }, command: Command) => {
        const ctx = contextFor(command)
        const body: CreateAdminTokenBody = compact({
          name: options.name,
          instanceId: options.instanceScope,
          expiresInSeconds: options.expiresIn,
        })
        const created = await ctx.client().post<CreatedAdminToken>(ADMIN_TOKENS, body)
        ctx.rememberSecret(created.token)
        ctx.out.note(
          `Created admin token ${created.adminTokenId} (${created.name}). ` +
            'Store the token now: it will not be shown again.',
        )
        if (ctx.out.json) await ctx.out.printJson(created)
        else await ctx.out.line(created.token)
      },
    )

  adminToken
    .command('list')
    .description('list admin tokens')
    .addOption(limitOption())
    .action(async (options: { limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const tokens = await ctx.client().list<AdminToken>(ADMIN_TOKENS, {}, { limit: options.limit })
      await ctx.out.list(adminTokenColumns, tokens)
    })

  adminToken
    .command('revoke')
    .description('revoke an admin token')
    .argument('<admin-token-id>', 'atk_…')
    .action(async (adminTokenId: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      const revoked = await ctx.client().post<AdminToken>(`${ADMIN_TOKENS}/${segment(adminTokenId)}/revoke`)
      await ctx.out.record(adminTokenFields, revoked)
    })
}
