import type {
  CreateCredentialBody,
  Credential,
  CredentialListQuery,
  CredentialType,
  CredentialVersion,
  PutCredentialVersionBody,
  RevealCredentialBody,
  RevealedCredential,
  UpdateCredentialBody,
} from '@strongroom/protocol'
import { type Command, Option } from 'commander'
import { compact } from '../compact.js'
import { type Context, segment } from '../context.js'
import { checkValueOptions, secretOf } from '../credential-value.js'
import { UsageError } from '../errors.js'
import { CREDENTIAL_TYPES } from '../option-parsers.js'
import { credentialColumns, credentialFields, credentialVersionColumns } from '../views.js'
import { type ContextFor, limitOption } from './context-for.js'
import { readCredentialValue, type ValueInputOptions, valueInputOptions } from './credential-input.js'

/** `{i}/credentials[/:credential]`, where `:credential` is an id (`cred_…`) or an identifier. */
function credentialPath(ctx: Context, credential?: string): Promise<string> {
  return ctx.instancePath(credential === undefined ? '/credentials' : `/credentials/${segment(credential)}`)
}

const CREDENTIAL_ARGUMENT = ['<credential>', 'the credential id (cred_…) or identifier'] as const

/** `strongroom credential …`: secrets kept by the server. Values are never taken from arguments. */
export function registerCredentialCommands(program: Command, contextFor: ContextFor): void {
  const credential = program.command('credential').description('manage credentials (kept secrets)')

  const create = credential
    .command('create')
    .description('create a credential; the secret comes from --value-file, stdin or a hidden prompt')
    .requiredOption('--identifier <identifier>', 'the unique identifier, e.g. payments/stripe')
    .addOption(
      new Option('--type <type>', 'the credential type').choices(CREDENTIAL_TYPES).makeOptionMandatory(),
    )
    .option('--name <name>', 'a display name (default: the identifier)')
    .option('--description <text>', 'what the credential is for')
  for (const option of valueInputOptions()) create.addOption(option)
  create.action(
    async (
      options: ValueInputOptions & {
        identifier: string
        type: CredentialType
        name?: string
        description?: string
      },
      command: Command,
    ) => {
      checkValueOptions(options.type, options)
      const ctx = contextFor(command)
      const client = ctx.client()
      const path = await credentialPath(ctx)
      const body: CreateCredentialBody = compact({
        credentialIdentifier: options.identifier,
        credentialName: options.name,
        credentialType: options.type,
        description: options.description,
        value: await readCredentialValue(ctx, options.type, options),
      })
      await ctx.out.record(credentialFields, await client.post<Credential>(path, body))
    },
  )

  credential
    .command('list')
    .description('list credentials')
    .addOption(new Option('--type <type>', 'only this type').choices(CREDENTIAL_TYPES))
    .option('--prefix <prefix>', 'only identifiers starting with PREFIX')
    .addOption(limitOption())
    .action(async (options: { type?: CredentialType; prefix?: string; limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const client = ctx.client()
      const query: CredentialListQuery = compact({
        credentialType: options.type,
        identifierPrefix: options.prefix,
      })
      const credentials = await client.list<Credential>(await credentialPath(ctx), query, {
        limit: options.limit,
      })
      await ctx.out.list(credentialColumns, credentials)
    })

  credential
    .command('show')
    .description('show a credential (not its value)')
    .argument(...CREDENTIAL_ARGUMENT)
    .action(async (id: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await ctx.out.record(
        credentialFields,
        await ctx.client().get<Credential>(await credentialPath(ctx, id)),
      )
    })

  credential
    .command('update')
    .description("change a credential's name or description")
    .argument(...CREDENTIAL_ARGUMENT)
    .option('--name <name>', 'the new display name')
    .option('--description <text>', 'the new description')
    .action(async (id: string, options: { name?: string; description?: string }, command: Command) => {
      if (options.name === undefined && options.description === undefined) {
        throw new UsageError('credential update needs --name or --description')
      }
      const ctx = contextFor(command)
      const body: UpdateCredentialBody = compact({
        credentialName: options.name,
        description: options.description,
      })
      await ctx.out.record(
        credentialFields,
        await ctx.client().patch<Credential>(await credentialPath(ctx, id), body),
      )
    })

  for (const action of ['disable', 'enable'] as const) {
    credential
      .command(action)
      .description(`${action} a credential`)
      .argument(...CREDENTIAL_ARGUMENT)
      .action(async (id: string, _options: object, command: Command) => {
        const ctx = contextFor(command)
        const changed = await ctx.client().post<Credential>(`${await credentialPath(ctx, id)}/${action}`)
        await ctx.out.record(credentialFields, changed)
      })
  }

  const put = credential
    .command('put')
    .description('store a new version of the value (rotation); read like create')
    .argument(...CREDENTIAL_ARGUMENT)
  for (const option of valueInputOptions()) put.addOption(option)
  put.action(async (id: string, options: ValueInputOptions, command: Command) => {
    const ctx = contextFor(command)
    const client = ctx.client()
    const path = await credentialPath(ctx, id)
    const current = await client.get<Credential>(path)
    checkValueOptions(current.credentialType, options)
    const body: PutCredentialVersionBody = {
      value: await readCredentialValue(ctx, current.credentialType, options),
    }
    await ctx.out.record(credentialFields, await client.post<Credential>(`${path}/versions`, body))
  })

  credential
    .command('versions')
    .description("list a credential's versions")
    .argument(...CREDENTIAL_ARGUMENT)
    .addOption(limitOption())
    .action(async (id: string, options: { limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const path = `${await credentialPath(ctx, id)}/versions`
      const versions = await ctx.client().list<CredentialVersion>(path, {}, { limit: options.limit })
      await ctx.out.list(credentialVersionColumns, versions)
    })

  credential
    .command('reveal')
    .description('print the secret value on stdout (audited); --json prints the whole credential')
    .argument(...CREDENTIAL_ARGUMENT)
    .option('--reason <reason>', 'why you need it, recorded in the audit log')
    .action(async (id: string, options: { reason?: string }, command: Command) => {
      const ctx = contextFor(command)
      const body: RevealCredentialBody = compact({ reason: options.reason })
      const revealed = await ctx
        .client()
        .post<RevealedCredential>(`${await credentialPath(ctx, id)}/reveal`, body)
      if (ctx.out.json) return ctx.out.printJson(revealed)
      const secret = secretOf(revealed)
      ctx.rememberSecret(secret)
      // An SSH key is printed exactly as kept (it normally ends with a newline already).
      const exact = revealed.credentialType === 'ssh_key'
      const newline = !exact || (ctx.io.stdout.isTTY === true && !secret.endsWith('\n'))
      await ctx.out.write(newline ? `${secret}\n` : secret)
    })
}
