import type { AccountSummary, SshKeyOutputFormat } from '@strongroom/sdk'
import { type Command, Option } from 'commander'
import { UsageError } from '../errors.js'
import { SSH_KEY_OUTPUT_FORMATS } from '../option-parsers.js'
import { toJson } from '../safe-text.js'
import type { Column } from '../table.js'
import {
  CLOUD_CREDENTIAL_FORMATS,
  type CloudCredentialFormat,
  cloudCredentialSecrets,
  cloudCredentialsAnswerJson,
  formatCloudCredentials,
  parseCloudDuration,
} from '../workload/cloud-credentials-output.js'
import { revealedJson } from '../workload/revealed-json.js'
import { type SecretOutputOptions, writeSecret } from '../workload/secret-output.js'
import { configOption, type WorkloadOptions, workloadClient } from '../workload/workload-client.js'
import type { ContextFor } from './context-for.js'

const reasonOption = () =>
  new Option('--reason <text>', 'why the secret is needed (recorded in the audit; some accounts require it)')
const outOption = () => new Option('--out <file>', 'write the secret to FILE (mode 0600) instead of stdout')

const accountColumns: readonly Column<AccountSummary>[] = [
  { header: 'NAME', value: (a) => a.name },
  { header: 'DISPLAY NAME', value: (a) => a.displayName },
  { header: 'STATUS', value: (a) => a.status },
  { header: 'REASON', value: (a) => (a.requiresReason ? 'required' : '-') },
  { header: 'PASSWORD', value: (a) => (a.hasPassword ? 'yes' : '-') },
  { header: 'SSH KEY', value: (a) => (a.hasKey ? (a.isKeySupported ? 'yes' : 'as stored only') : '-') },
  { header: 'ID', value: (a) => a.id },
]

/**
 * `strongroom get api-key|password|ssh-key|accounts|cloud-credentials`: what a workload fetches,
 * with the same client configuration as the SDK. The secret goes to stdout (or a 0600 file with
 * `--out`) and nowhere else.
 */
export function registerGetCommands(program: Command, contextFor: ContextFor): void {
  const get = program
    .command('get')
    .description('fetch a secret as a workload (client configuration as the SDK reads it)')

  get
    .command('api-key')
    .description("print a credential's API key (ObtainCredential)")
    .argument('<credential>', 'the credential identifier')
    .addOption(configOption())
    .addOption(outOption())
    .action(async (credential: string, options: WorkloadOptions & SecretOutputOptions, command: Command) => {
      const ctx = contextFor(command)
      await using pam = await workloadClient(ctx, options)
      if (ctx.out.json) {
        const obtained = await pam.obtainCredential(credential)
        const apiKey = obtained.credentialContent.apiKeyContent?.apiKey
        if (apiKey !== undefined) ctx.rememberSecret(apiKey)
        await writeSecret(ctx, revealedJson(obtained), options)
        return
      }
      await writeSecret(ctx, await pam.getApiKey(credential), options)
    })

  get
    .command('password')
    .description("print a privileged account's password")
    .argument('<account>', 'the account, TARGET/account (or its acct_… id)')
    .addOption(reasonOption())
    .addOption(configOption())
    .addOption(outOption())
    .action(
      async (
        account: string,
        options: WorkloadOptions & SecretOutputOptions & { reason?: string },
        command: Command,
      ) => {
        const ctx = contextFor(command)
        await using pam = await workloadClient(ctx, options)
        const password = await pam.getPassword(account, reasonOf(options))
        if (!ctx.out.json) return writeSecret(ctx, password, options)
        ctx.rememberSecret(password)
        await writeSecret(ctx, toJson({ accountName: account, password }, 2), options)
      },
    )

  get
    .command('ssh-key')
    .description("print a privileged account's SSH private key")
    .argument('<account>', 'the account, TARGET/account (or its acct_… id)')
    .option('--decrypt', 'the private key decrypted, in --format (default: as stored)')
    .addOption(
      new Option(
        '--format <format>',
        'with --decrypt: pem (PKCS#8, the default) or openssh (what ssh -i reads for every key type)',
      ).choices(SSH_KEY_OUTPUT_FORMATS),
    )
    .addOption(reasonOption())
    .addOption(configOption())
    .addOption(outOption())
    .action(
      async (
        account: string,
        options: WorkloadOptions &
          SecretOutputOptions & { reason?: string; decrypt?: boolean; format?: SshKeyOutputFormat },
        command: Command,
      ) => {
        if (options.format !== undefined && options.decrypt !== true)
          throw new UsageError('--format applies only with --decrypt: a key as stored keeps its own format')
        const ctx = contextFor(command)
        await using pam = await workloadClient(ctx, options)
        const sshKey = await pam.getSshKey(account, {
          ...reasonOf(options),
          decrypt: options.decrypt === true,
          format: options.format,
        })
        if (sshKey.passphrase !== null) ctx.rememberSecret(sshKey.passphrase)
        if (ctx.out.json) {
          ctx.rememberSecret(sshKey.key)
          await writeSecret(ctx, revealedJson(sshKey), options)
          return
        }
        await writeSecret(ctx, sshKey.key, options)
        if (sshKey.passphrase !== null) {
          ctx.out.note(
            'this key is encrypted: use --decrypt for the key in clear, or --json for its passphrase',
          )
        }
      },
    )

  get
    .command('cloud-credentials')
    .description("print a cloud role's short-lived STS credentials (ObtainCloudAccountRoleAccessCredential)")
    .argument('<role>', "the role's ARN: acs:ram::<uid>:role/<name> or arn:aws:iam::<account>:role/<name>")
    .addOption(
      new Option(
        '--duration <seconds>',
        "the STS session's lifetime, 900-43200 (default: the role's)",
      ).argParser(parseCloudDuration),
    )
    .addOption(
      new Option(
        '--format <format>',
        'json (the default), env (NAME=value lines for sh), or aws-process (the JSON an AWS credential_process prints; AWS roles only)',
      ).choices(CLOUD_CREDENTIAL_FORMATS),
    )
    .addOption(configOption())
    .addOption(outOption())
    .action(
      async (
        role: string,
        options: WorkloadOptions &
          SecretOutputOptions & { duration?: number; format?: CloudCredentialFormat },
        command: Command,
      ) => {
        const ctx = contextFor(command)
        if (ctx.out.json && options.format !== undefined && options.format !== 'json')
          throw new UsageError(
            `--json prints the whole answer: it does not combine with --format ${options.format}`,
          )
        await using pam = await workloadClient(ctx, options)
        const credentials = await pam.getCloudCredentials(
          role,
          options.duration === undefined ? {} : { durationSeconds: options.duration },
        )
        for (const secret of cloudCredentialSecrets(credentials)) ctx.rememberSecret(secret)
        const text = ctx.out.json
          ? cloudCredentialsAnswerJson(credentials)
          : formatCloudCredentials(credentials, options.format ?? 'json')
        await writeSecret(ctx, text, options)
      },
    )

  get
    .command('accounts')
    .description('list the privileged accounts this workload may see')
    .addOption(configOption())
    .action(async (options: WorkloadOptions, command: Command) => {
      const ctx = contextFor(command)
      await using pam = await workloadClient(ctx, options)
      await ctx.out.list(accountColumns, await pam.getAccounts())
    })
}

function reasonOf(options: { reason?: string }): { reason?: string } {
  return options.reason === undefined ? {} : { reason: options.reason }
}
