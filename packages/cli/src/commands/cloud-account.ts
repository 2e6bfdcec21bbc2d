import type {
  CloudAccount,
  CloudAccountListQuery,
  CloudVendor,
  CreateCloudAccountBody,
  RotateCloudAccountKeyBody,
} from '@strongroom/protocol'
import { type Command, Option } from 'commander'
import { compact } from '../compact.js'
import type { Context } from '../context.js'
import { cloudAccountColumns, cloudAccountFields } from '../views.js'
import {
  accessKeySecretFileOption,
  CLOUD_ACCOUNT_ARGUMENT,
  CLOUD_VENDORS,
  type CloudAccountUpdateOptions,
  cloudAccountChanges,
  cloudAccountPath,
  readAccessKeySecret,
  vendorHelp,
} from './cloud-account-input.js'
import { registerCloudAccountRoleCommands } from './cloud-account-role.js'
import { type ContextFor, limitOption } from './context-for.js'

const show = (ctx: Context, cloudAccount: CloudAccount) => ctx.out.record(cloudAccountFields, cloudAccount)

/**
 * `strongroom cloud-account …`: a cloud vendor's long-lived access key pair, kept sealed, and the
 * roles workloads obtain short-lived STS credentials for. The access key secret comes from a file,
 * stdin or a hidden prompt, never from an argument, and is never printed: there is no `reveal`.
 */
export function registerCloudAccountCommands(program: Command, contextFor: ContextFor): void {
  const cloudAccount = program
    .command('cloud-account')
    .description('manage cloud accounts (sealed access key pairs) and their roles')

  cloudAccount
    .command('create')
    .description(
      'create a cloud account; the access key secret comes from --access-key-secret-file, stdin or a hidden prompt',
    )
    .requiredOption('--name <name>', 'the unique name, e.g. prod-aws (letters, digits and ._-)')
    .addOption(new Option('--vendor <vendor>', vendorHelp()).choices(CLOUD_VENDORS).makeOptionMandatory())
    .requiredOption(
      '--account-id <id>',
      "the vendor's account id: an Alibaba Cloud UID, or an AWS account's 12 digits",
    )
    .requiredOption('--access-key-id <id>', 'the access key id (LTAI…, AKIA…)')
    .addOption(accessKeySecretFileOption())
    .option('--description <text>', 'what the account is for')
    .option(
      '--sts-endpoint <url>',
      "the STS endpoint: https (http only on loopback), no path (default: the vendor's public STS)",
    )
    .option('--region <region>', 'the region, for a regional STS endpoint (e.g. cn-hangzhou, eu-west-1)')
    .action(
      async (
        options: {
          name: string
          vendor: CloudVendor
          accountId: string
          accessKeyId: string
          accessKeySecretFile?: string
          description?: string
          stsEndpoint?: string
          region?: string
        },
        command: Command,
      ) => {
        const ctx = contextFor(command)
        const client = ctx.client()
        const path = await cloudAccountPath(ctx)
        const body: CreateCloudAccountBody = compact({
          name: options.name,
          vendorType: options.vendor,
          vendorAccountId: options.accountId,
          accessKeyId: options.accessKeyId,
          accessKeySecret: await readAccessKeySecret(ctx, options.accessKeySecretFile),
          description: options.description,
          stsEndpoint: options.stsEndpoint,
          region: options.region,
        })
        await show(ctx, await client.post<CloudAccount>(path, body))
      },
    )

  cloudAccount
    .command('list')
    .description('list cloud accounts (never their keys)')
    .option('--prefix <prefix>', 'only names starting with PREFIX')
    .addOption(limitOption())
    .action(async (options: { prefix?: string; limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const query: CloudAccountListQuery = compact({ namePrefix: options.prefix })
      const accounts = await ctx
        .client()
        .list<CloudAccount>(await cloudAccountPath(ctx), query, { limit: options.limit })
      await ctx.out.list(cloudAccountColumns, accounts)
    })

  cloudAccount
    .command('show')
    .description("show a cloud account and its access key id's hint (never its secret)")
    .argument(...CLOUD_ACCOUNT_ARGUMENT)
    .action(async (ref: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await show(ctx, await ctx.client().get<CloudAccount>(await cloudAccountPath(ctx, ref)))
    })

  cloudAccount
    .command('update')
    .description("change a cloud account's description, STS endpoint or region")
    .argument(...CLOUD_ACCOUNT_ARGUMENT)
    .option('--description <text>', 'the new description')
    .option('--sts-endpoint <url>', 'the STS endpoint: https (http only on loopback), no path')
    .addOption(
      new Option('--default-sts-endpoint', "go back to the vendor's public STS endpoint").conflicts(
        'stsEndpoint',
      ),
    )
    .option('--region <region>', 'the region, for a regional STS endpoint')
    .option('--no-region', 'no region: the global STS endpoint')
    .action(async (ref: string, options: CloudAccountUpdateOptions, command: Command) => {
      const body = cloudAccountChanges(options)
      const ctx = contextFor(command)
      await show(ctx, await ctx.client().patch<CloudAccount>(await cloudAccountPath(ctx, ref), body))
    })

  for (const action of ['disable', 'enable'] as const) {
    cloudAccount
      .command(action)
      .description(
        `${action} a cloud account${action === 'disable' ? ' (none of its roles gets credentials)' : ''}`,
      )
      .argument(...CLOUD_ACCOUNT_ARGUMENT)
      .action(async (ref: string, _options: object, command: Command) => {
        const ctx = contextFor(command)
        await show(
          ctx,
          await ctx.client().post<CloudAccount>(`${await cloudAccountPath(ctx, ref)}/${action}`),
        )
      })
  }

  cloudAccount
    .command('rotate-key')
    .description(
      'make a new access key pair current (the old one is kept sealed); the secret is read like create',
    )
    .argument(...CLOUD_ACCOUNT_ARGUMENT)
    .requiredOption('--access-key-id <id>', 'the new access key id')
    .addOption(accessKeySecretFileOption())
    .action(
      async (
        ref: string,
        options: { accessKeyId: string; accessKeySecretFile?: string },
        command: Command,
      ) => {
        const ctx = contextFor(command)
        const client = ctx.client()
        const path = `${await cloudAccountPath(ctx, ref)}/keys`
        const body: RotateCloudAccountKeyBody = {
          accessKeyId: options.accessKeyId,
          accessKeySecret: await readAccessKeySecret(ctx, options.accessKeySecretFile),
        }
        await show(ctx, await client.post<CloudAccount>(path, body))
      },
    )

  registerCloudAccountRoleCommands(cloudAccount, contextFor)
}
