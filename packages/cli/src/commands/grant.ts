import type {
  CreateGrantBody,
  Grant,
  GrantAction,
  GrantListQuery,
  GrantResourceType,
} from '@strongroom/protocol'
import { type Command, Option } from 'commander'
import { compact } from '../compact.js'
import { segment } from '../context.js'
import { GRANT_ACTIONS, GRANT_RESOURCE_TYPES, parseActions } from '../option-parsers.js'
import { grantColumns, grantFields } from '../views.js'
import { type ContextFor, limitOption } from './context-for.js'

/** `strongroom grant create|list|delete`: which application may do what to which resource. */
export function registerGrantCommands(program: Command, contextFor: ContextFor): void {
  const grant = program.command('grant').description('manage grants (application × resource × actions)')

  grant
    .command('create')
    .description('grant an application actions on a resource')
    .requiredOption('--app <application-id>', 'the application (app_…)')
    .addOption(
      new Option('--type <type>', 'the resource type').choices(GRANT_RESOURCE_TYPES).makeOptionMandatory(),
    )
    .requiredOption(
      '--resource <resource>',
      'the resource id or identifier (with --prefix: an identifier prefix)',
    )
    .option('--prefix', 'match every identifier starting with RESOURCE')
    .requiredOption('--actions <actions>', `comma-separated: ${GRANT_ACTIONS.join(',')}`, parseActions)
    .action(
      async (
        options: {
          app: string
          type: GrantResourceType
          resource: string
          prefix?: boolean
          actions: GrantAction[]
        },
        command: Command,
      ) => {
        const ctx = contextFor(command)
        const body: CreateGrantBody = {
          applicationId: options.app,
          resourceType: options.type,
          resourceMatch: options.prefix === true ? 'prefix' : 'exact',
          resource: options.resource,
          actions: options.actions,
        }
        await ctx.out.record(
          grantFields,
          await ctx.client().post<Grant>(await ctx.instancePath('/grants'), body),
        )
      },
    )

  grant
    .command('list')
    .description('list grants')
    .option('--app <application-id>', 'only grants to this application')
    .addOption(new Option('--type <type>', 'only this resource type').choices(GRANT_RESOURCE_TYPES))
    .addOption(limitOption())
    .action(async (options: { app?: string; type?: GrantResourceType; limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const client = ctx.client()
      const query: GrantListQuery = compact({ applicationId: options.app, resourceType: options.type })
      const grants = await client.list<Grant>(await ctx.instancePath('/grants'), query, {
        limit: options.limit,
      })
      await ctx.out.list(grantColumns, grants)
    })

  grant
    .command('delete')
    .description('delete a grant')
    .argument('<grant-id>', 'grant_…')
    .action(async (grantId: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await ctx.client().delete(await ctx.instancePath(`/grants/${segment(grantId)}`))
      if (ctx.out.json) await ctx.out.printJson({ grantId, deleted: true })
      else await ctx.out.line(`Deleted grant ${grantId}.`)
    })
}
