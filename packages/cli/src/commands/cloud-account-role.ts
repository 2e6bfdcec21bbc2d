import type { AddCloudAccountRoleBody, CloudAccountRole } from '@strongroom/protocol'
import { type Command, Option } from 'commander'
import { compact } from '../compact.js'
import { type Context, segment } from '../context.js'
import { cloudAccountRoleColumns, cloudAccountRoleFields } from '../views.js'
import {
  CLOUD_ACCOUNT_ARGUMENT,
  checkDurations,
  cloudAccountPath,
  MAX_DURATION,
  MIN_DURATION,
  parseStsDuration,
  type RoleOptions,
  readSessionPolicy,
  roleChanges,
} from './cloud-account-input.js'
import { type ContextFor, limitOption } from './context-for.js'

/**
 * `{i}/cloudAccounts/:cloudAccount/roles[/:role]`, where `:role` is an id (`car_…`), a name or an
 * ARN, percent-encoded (`acs%3Aram%3A%3A…%3Arole%2Fname`).
 */
async function rolePath(ctx: Context, cloudAccount: string, role?: string): Promise<string> {
  const roles = `${await cloudAccountPath(ctx, cloudAccount)}/roles`
  return role === undefined ? roles : `${roles}/${segment(role)}`
}

const ROLE_ARGUMENT = ['<role>', 'the role id (car_…), name or ARN'] as const

const show = (ctx: Context, role: CloudAccountRole) => ctx.out.record(cloudAccountRoleFields, role)

/** The options `role add` and `role update` share; `update` can also remove what is optional. */
function roleOptions(command: Command, mode: 'add' | 'update'): Command {
  const add = mode === 'add'
  const range = `${MIN_DURATION}–${MAX_DURATION}`
  command
    .option(
      '--name <name>',
      add ? "a name for the role (default: the role's name in the ARN)" : 'the new name',
    )
    .option('--description <text>', add ? 'what the role is for' : 'the new description')
    .addOption(
      new Option(
        '--default-duration <seconds>',
        `the STS session lifetime when a workload names none, ${range}${add ? ' (default: 3600)' : ''}`,
      ).argParser(parseStsDuration),
    )
    .addOption(
      new Option(
        '--max-duration <seconds>',
        `the longest STS session a workload may ask for, ${range}${add ? ' (default: 3600, or the default duration when higher)' : ''}`,
      ).argParser(parseStsDuration),
    )
    .option(
      '--session-policy-file <path>',
      `${add ? 'a' : 'replace the'} session policy (a JSON policy document) from PATH, or - for stdin`,
    )
  if (!add) {
    command.addOption(
      new Option('--no-session-policy', 'remove the session policy').conflicts('sessionPolicyFile'),
    )
  }
  command.option(
    '--external-id <id>',
    `${add ? 'the' : 'the new'} ExternalId the role's trust policy requires (AWS only)`,
  )
  if (!add) command.option('--no-external-id', 'remove the ExternalId')
  return command
}

/** `strongroom cloud-account role …`: the roles of a cloud account that grants name by ARN. */
export function registerCloudAccountRoleCommands(cloudAccount: Command, contextFor: ContextFor): void {
  const role = cloudAccount
    .command('role')
    .description("manage a cloud account's roles (what workloads are granted by ARN)")

  roleOptions(
    role
      .command('add')
      .description("add a role by its ARN, which must name a role of the cloud account's vendor and id")
      .argument(...CLOUD_ACCOUNT_ARGUMENT)
      .requiredOption(
        '--arn <arn>',
        'the role ARN: acs:ram::<uid>:role/<name> (Alibaba Cloud) or arn:aws:iam::<account>:role/<name> (AWS)',
      ),
    'add',
  ).action(async (account: string, options: RoleOptions & { arn: string }, command: Command) => {
    checkDurations(options)
    const ctx = contextFor(command)
    const client = ctx.client()
    const path = await rolePath(ctx, account)
    const body: AddCloudAccountRoleBody = compact({
      roleExternalId: options.arn,
      name: options.name,
      description: options.description,
      defaultDurationSeconds: options.defaultDuration,
      maxDurationSeconds: options.maxDuration,
      sessionPolicy:
        options.sessionPolicyFile === undefined
          ? undefined
          : await readSessionPolicy(ctx, options.sessionPolicyFile),
      externalId: typeof options.externalId === 'string' ? options.externalId : undefined,
    })
    await show(ctx, await client.post<CloudAccountRole>(path, body))
  })

  role
    .command('list')
    .description("list a cloud account's roles")
    .argument(...CLOUD_ACCOUNT_ARGUMENT)
    .addOption(limitOption())
    .action(async (account: string, options: { limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const roles = await ctx
        .client()
        .list<CloudAccountRole>(await rolePath(ctx, account), {}, { limit: options.limit })
      await ctx.out.list(cloudAccountRoleColumns, roles)
    })

  role
    .command('show')
    .description('show a role')
    .argument(...CLOUD_ACCOUNT_ARGUMENT)
    .argument(...ROLE_ARGUMENT)
    .action(async (account: string, ref: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await show(ctx, await ctx.client().get<CloudAccountRole>(await rolePath(ctx, account, ref)))
    })

  roleOptions(
    role
      .command('update')
      .description("change a role's name, description, durations, session policy or ExternalId (not its ARN)")
      .argument(...CLOUD_ACCOUNT_ARGUMENT)
      .argument(...ROLE_ARGUMENT),
    'update',
  ).action(async (account: string, ref: string, options: RoleOptions, command: Command) => {
    const ctx = contextFor(command)
    const body = await roleChanges(ctx, options)
    await show(ctx, await ctx.client().patch<CloudAccountRole>(await rolePath(ctx, account, ref), body))
  })

  role
    .command('remove')
    .description('remove a role: no workload gets credentials for it any more')
    .argument(...CLOUD_ACCOUNT_ARGUMENT)
    .argument(...ROLE_ARGUMENT)
    .action(async (account: string, ref: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await ctx.client().delete(await rolePath(ctx, account, ref))
      if (ctx.out.json) await ctx.out.printJson({ cloudAccount: account, role: ref, removed: true })
      else await ctx.out.line(`Removed role ${ref} of cloud account ${account}.`)
    })

  for (const action of ['disable', 'enable'] as const) {
    role
      .command(action)
      .description(`${action} a role${action === 'disable' ? ' (it gets no credentials)' : ''}`)
      .argument(...CLOUD_ACCOUNT_ARGUMENT)
      .argument(...ROLE_ARGUMENT)
      .action(async (account: string, ref: string, _options: object, command: Command) => {
        const ctx = contextFor(command)
        const path = `${await rolePath(ctx, account, ref)}/${action}`
        await show(ctx, await ctx.client().post<CloudAccountRole>(path))
      })
  }
}
