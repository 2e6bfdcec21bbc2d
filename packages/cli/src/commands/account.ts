import type {
  Account,
  AccountListQuery,
  AccountVersion,
  CreateAccountBody,
  PutAccountVersionBody,
  UpdateAccountBody,
} from '@strongroom/protocol'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { type Context, segment } from '../context.js'
import { UsageError } from '../errors.js'
import { accountColumns, accountFields, accountVersionColumns } from '../views.js'
import {
  checkSecretOptions,
  type KeyInputOptions,
  keyInputOptions,
  type PasswordInputOptions,
  passwordFileOption,
  readPassword,
  readSshKey,
} from './account-input.js'
import { type ContextFor, limitOption } from './context-for.js'

/** `{i}/accounts[/:account]`, where `:account` is an id (`acct_…`) or a name (its slash encoded). */
function accountPath(ctx: Context, account?: string): Promise<string> {
  return ctx.instancePath(account === undefined ? '/accounts' : `/accounts/${segment(account)}`)
}

const ACCOUNT_ARGUMENT = ['<account>', 'the account id (acct_…) or name (TARGET/account)'] as const

const show = (ctx: Context, account: Account) => ctx.out.record(accountFields, account)

/** Stores a new version (rotation) and shows the account. */
async function putVersion(ctx: Context, id: string, body: PutAccountVersionBody): Promise<void> {
  const path = `${await accountPath(ctx, id)}/versions`
  await show(ctx, await ctx.client().post<Account>(path, body))
}

/**
 * `strongroom account …`: privileged accounts (`TARGET/account`) with an optional password and SSH
 * key. Secrets come from files, stdin or a hidden prompt, never from arguments, and are never printed.
 */
export function registerAccountCommands(program: Command, contextFor: ContextFor): void {
  const account = program
    .command('account')
    .description('manage privileged accounts (passwords and SSH keys of TARGET/account)')

  const create = account
    .command('create')
    .description('create an account; its password and SSH key are optional')
    .argument('<name>', 'TARGET/account, e.g. DB-SERVER/admin')
    .option('--display-name <name>', 'a display name (default: the account name)')
    .option('--description <text>', 'what the account is for')
    .option('--requires-reason', 'every retrieval must give a reason')
    .option('--password', 'read a password from stdin, or a hidden prompt on a terminal')
    .addOption(passwordFileOption())
    .option('--key-file <path>', 'read an SSH private key (OpenSSH or PEM) from PATH')
  for (const option of keyInputOptions()) create.addOption(option)
  create.action(
    async (
      name: string,
      options: PasswordInputOptions &
        KeyInputOptions & { displayName?: string; description?: string; requiresReason?: boolean },
      command: Command,
    ) => {
      checkSecretOptions(options, options)
      const ctx = contextFor(command)
      const client = ctx.client()
      const path = await accountPath(ctx)
      const wantsPassword = options.password === true || options.passwordFile !== undefined
      const body: CreateAccountBody = compact({
        accountName: name,
        displayName: options.displayName,
        description: options.description,
        requiresReason: options.requiresReason,
        password: wantsPassword ? await readPassword(ctx, options.passwordFile) : undefined,
        sshKey:
          options.keyFile === undefined
            ? undefined
            : await readSshKey(ctx, { ...options, keyFile: options.keyFile }),
      })
      await show(ctx, await client.post<Account>(path, body))
    },
  )

  account
    .command('list')
    .description('list accounts (never their secrets)')
    .option('--prefix <prefix>', 'only names starting with PREFIX, e.g. DB-SERVER/')
    .addOption(limitOption())
    .action(async (options: { prefix?: string; limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const query: AccountListQuery = compact({ namePrefix: options.prefix })
      const accounts = await ctx
        .client()
        .list<Account>(await accountPath(ctx), query, { limit: options.limit })
      await ctx.out.list(accountColumns, accounts)
    })

  account
    .command('show')
    .description("show an account, its key's fingerprint and public key (never its secrets)")
    .argument(...ACCOUNT_ARGUMENT)
    .action(async (id: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await show(ctx, await ctx.client().get<Account>(await accountPath(ctx, id)))
    })

  account
    .command('update')
    .description("change an account's display name, description or reason policy")
    .argument(...ACCOUNT_ARGUMENT)
    .option('--display-name <name>', 'the new display name')
    .option('--description <text>', 'the new description')
    .option('--requires-reason', 'every retrieval must give a reason')
    .option('--no-requires-reason', 'retrievals need no reason')
    .action(
      async (
        id: string,
        options: { displayName?: string; description?: string; requiresReason?: boolean },
        command: Command,
      ) => {
        const body = compact({
          displayName: options.displayName,
          description: options.description,
          requiresReason: options.requiresReason,
        }) as UpdateAccountBody
        if (Object.keys(body).length === 0)
          throw new UsageError(
            'account update needs --display-name, --description, --requires-reason or --no-requires-reason',
          )
        const ctx = contextFor(command)
        await show(ctx, await ctx.client().patch<Account>(await accountPath(ctx, id), body))
      },
    )

  for (const action of ['disable', 'enable'] as const) {
    account
      .command(action)
      .description(`${action} an account`)
      .argument(...ACCOUNT_ARGUMENT)
      .action(async (id: string, _options: object, command: Command) => {
        const ctx = contextFor(command)
        await show(ctx, await ctx.client().post<Account>(`${await accountPath(ctx, id)}/${action}`))
      })
  }

  account
    .command('set-password')
    .description('store a new password (a new version; the SSH key is kept)')
    .argument(...ACCOUNT_ARGUMENT)
    .addOption(passwordFileOption())
    .action(async (id: string, options: { passwordFile?: string }, command: Command) => {
      const ctx = contextFor(command)
      await putVersion(ctx, id, { password: await readPassword(ctx, options.passwordFile) })
    })

  const setKey = account
    .command('set-ssh-key')
    .description('store a new SSH key (a new version; the password is kept)')
    .argument(...ACCOUNT_ARGUMENT)
    .requiredOption('--key-file <path>', 'read the SSH private key (OpenSSH or PEM) from PATH')
  for (const option of keyInputOptions()) setKey.addOption(option)
  setKey.action(async (id: string, options: KeyInputOptions & { keyFile: string }, command: Command) => {
    checkSecretOptions({}, options)
    const ctx = contextFor(command)
    await putVersion(ctx, id, { sshKey: await readSshKey(ctx, options) })
  })

  for (const [name, field] of [
    ['remove-password', 'password'],
    ['remove-ssh-key', 'sshKey'],
  ] as const) {
    account
      .command(name)
      .description(`remove the ${field === 'password' ? 'password' : 'SSH key'} (a new version without it)`)
      .argument(...ACCOUNT_ARGUMENT)
      .action(async (id: string, _options: object, command: Command) => {
        await putVersion(contextFor(command), id, { [field]: null })
      })
  }

  account
    .command('versions')
    .description("list an account's versions (which secrets each holds)")
    .argument(...ACCOUNT_ARGUMENT)
    .addOption(limitOption())
    .action(async (id: string, options: { limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const path = `${await accountPath(ctx, id)}/versions`
      const versions = await ctx.client().list<AccountVersion>(path, {}, { limit: options.limit })
      await ctx.out.list(accountVersionColumns, versions)
    })
}
