import { readFile } from 'node:fs/promises'
import type { AddApplicationKeysBody, ApplicationKeyList } from '@strongroom/protocol'
import type { Command } from 'commander'
import { UsageError } from '../errors.js'
import { applicationKeyColumns } from '../views.js'
import { applicationPath } from './application-path.js'
import type { ContextFor } from './context-for.js'

/** `strongroom app key add|list|remove`: public keys an application signs its client assertions with. */
export function registerAppKeyCommands(app: Command, contextFor: ContextFor): void {
  const key = app.command('key').description('public keys for private_key_jwt client authentication')

  key
    .command('add')
    .description('register public keys from a file: a PEM public key or certificate, a JWK, or a JWKS')
    .argument('<application-id>', 'app_…')
    .requiredOption('--file <path>', 'the public key file')
    .action(async (applicationId: string, options: { file: string }, command: Command) => {
      const ctx = contextFor(command)
      const body = keysBody(await readFile(options.file, 'utf8'), options.file)
      const added = await ctx
        .client()
        .post<ApplicationKeyList>(`${await applicationPath(ctx, applicationId)}/keys`, body)
      await ctx.out.list(applicationKeyColumns, added.entities)
    })

  key
    .command('list')
    .description("list an application's registered public keys")
    .argument('<application-id>', 'app_…')
    .action(async (applicationId: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      const listed = await ctx
        .client()
        .get<ApplicationKeyList>(`${await applicationPath(ctx, applicationId)}/keys`)
      await ctx.out.list(applicationKeyColumns, listed.entities)
    })

  key
    .command('remove')
    .description('remove a registered public key')
    .argument('<application-id>', 'app_…')
    .argument('<key-id>', 'apk_…')
    .action(async (applicationId: string, keyId: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await ctx
        .client()
        .delete(`${await applicationPath(ctx, applicationId)}/keys/${encodeURIComponent(keyId)}`)
      if (ctx.out.json) await ctx.out.write(`${JSON.stringify({ applicationKeyId: keyId, removed: true })}\n`)
    })
}

/** A PEM stays a PEM; JSON is a JWKS when it has `keys`, else a JWK. */
export function keysBody(text: string, file: string): AddApplicationKeysBody {
  if (text.trimStart().startsWith('-----BEGIN')) return { pem: text }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new UsageError(`${file} is neither a PEM key nor JSON (a JWK or a JWKS)`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`${file} holds no JWK`)
  return 'keys' in parsed
    ? { jwks: parsed as NonNullable<AddApplicationKeysBody['jwks']> }
    : { jwk: parsed as NonNullable<AddApplicationKeysBody['jwk']> }
}
