import type { RevokeSigningKeyBody, RotateSigningKeyBody, SigningKey } from '@strongroom/protocol'
import { type Command, Option } from 'commander'
import { compact } from '../compact.js'
import { segment } from '../context.js'
import { parseSeconds } from '../option-parsers.js'
import { signingKeyColumns } from '../views.js'
import type { ContextFor } from './context-for.js'

/** `strongroom signing-key list|rotate|revoke`: the keys that sign the instance's access tokens. */
export function registerSigningKeyCommands(program: Command, contextFor: ContextFor): void {
  const keys = program.command('signing-key').description("manage the instance's access-token signing keys")

  keys
    .command('list')
    .description(
      'list the published keys: next (published, not signing yet), active, retired; and those revoked in the last day',
    )
    .action(async (_options: object, command: Command) => {
      const ctx = contextFor(command)
      const page = await ctx.client().get<{ entities: SigningKey[] }>(await ctx.instancePath('/signing-keys'))
      await ctx.out.list(signingKeyColumns, page.entities)
    })

  keys
    .command('rotate')
    .description('add a key: published now, signing after --activate-after (default 600 s)')
    .addOption(new Option('--alg <alg>', 'signature algorithm').choices(['EdDSA', 'ES256']))
    .option(
      '--activate-after <seconds>',
      'seconds to publish it before it signs (0: at once, after a compromise)',
      parseSeconds,
    )
    .action(async (options: { alg?: 'EdDSA' | 'ES256'; activateAfter?: number }, command: Command) => {
      const ctx = contextFor(command)
      const body: RotateSigningKeyBody = compact({
        alg: options.alg,
        activateAfterSeconds: options.activateAfter,
      })
      const created = await ctx
        .client()
        .post<SigningKey>(await ctx.instancePath('/signing-keys/rotate'), body)
      await ctx.out.list(signingKeyColumns, [created])
    })

  keys
    .command('revoke')
    .description(
      'revoke a key that leaked: it leaves the JWKS and every token it signed is refused, at once. ' +
        'Not the active key: rotate --activate-after 0 first',
    )
    .argument('<kid>', 'the key id, as signing-key list shows it')
    .requiredOption('--reason <text>', 'why (recorded with the key and in the audit event)')
    .action(async (kid: string, options: { reason: string }, command: Command) => {
      const ctx = contextFor(command)
      const body: RevokeSigningKeyBody = { reason: options.reason }
      const revoked = await ctx
        .client()
        .post<SigningKey>(await ctx.instancePath(`/signing-keys/${segment(kid)}/revoke`), body)
      ctx.out.note(
        `Signing key ${revoked.kid} is revoked: it is no longer published, and no token it signed is accepted.`,
      )
      await ctx.out.list(signingKeyColumns, [revoked])
    })
}
