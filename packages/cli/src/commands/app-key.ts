import { readFile } from 'node:fs/promises'
import type { AddApplicationKeysBody, ApplicationKeyList } from '@strongroom/protocol'
import type { Command } from 'commander'
import { UsageError } from '../errors.js'
import { toJson } from '../safe-text.js'
import { applicationKeyColumns } from '../views.js'
import { applicationPath } from './application-path.js'
import type { ContextFor } from './context-for.js'

/**
 * `strongroom app key add|list|remove`: public keys an application signs with: its client
 * assertions (private_key_jwt), and with an RSA key, OCI request signatures (an OCI API key, named
 * by its OCI fingerprint).
 */
export function registerAppKeyCommands(app: Command, contextFor: ContextFor): void {
  const key = app
    .command('key')
    .description('public keys for private_key_jwt client authentication and OCI request signatures')

  key
    .command('add')
    .description(
      'register public keys from a file: a PEM public key or certificate (an OCI API public key too), a JWK, or a JWKS',
    )
    .argument('<application-id>', 'app_…')
    .requiredOption('--file <path>', 'the public key file')
    .action(async (applicationId: string, options: { file: string }, command: Command) => {
      const ctx = contextFor(command)
      const body = keysBody(await readFile(options.file, 'utf8'), options.file)
      const client = ctx.client()
      const added = await client.post<ApplicationKeyList>(
        `${await applicationPath(ctx, applicationId)}/keys`,
        body,
      )
      await ctx.out.list(applicationKeyColumns, added.entities)
      if (!ctx.out.json) {
        for (const key of added.entities) {
          if (key.ociFingerprint === undefined) continue
          ctx.out.note(
            ociSdkNote(client.baseUrl, await ctx.instanceId(), key.applicationId, key.ociFingerprint),
          )
        }
      }
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
      if (ctx.out.json) await ctx.out.write(`${toJson({ applicationKeyId: keyId, removed: true })}\n`)
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

/**
 * What an OCI SDK needs to sign with an RSA key just registered, for the human (stderr): the
 * endpoint to override (`{server}/oci/{instance}`; the client appends `/v1`), and the tenancy,
 * user and fingerprint of its `SimpleAuthenticationDetailsProvider`.
 */
export function ociSdkNote(
  serverUrl: string,
  instanceId: string,
  applicationId: string,
  fingerprint: string,
): string {
  return [
    `OCI SDK: endpoint ${serverUrl.replace(/\/+$/, '')}/oci/${instanceId}`,
    `tenancy ${instanceId}`,
    `user ${applicationId}`,
    `fingerprint ${fingerprint}`,
  ].join(', ')
}
