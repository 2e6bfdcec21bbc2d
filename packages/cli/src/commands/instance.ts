import type { CreateInstanceBody, Instance } from '@strongroom/protocol'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { segment } from '../context.js'
import { instanceColumns, instanceFields } from '../views.js'
import { type ContextFor, limitOption } from './context-for.js'

const INSTANCES = '/admin/v1/instances'

/** `strongroom instance create|list|show`. */
export function registerInstanceCommands(program: Command, contextFor: ContextFor): void {
  const instance = program.command('instance').description('manage instances (tenants)')

  instance
    .command('create')
    .description('create an instance')
    .requiredOption('--name <name>', 'the instance name')
    .option('--description <text>', 'what the instance is for')
    .action(async (options: { name: string; description?: string }, command: Command) => {
      const ctx = contextFor(command)
      const body: CreateInstanceBody = compact({ name: options.name, description: options.description })
      await ctx.out.record(instanceFields, await ctx.client().post<Instance>(INSTANCES, body))
    })

  instance
    .command('list')
    .description('list instances')
    .addOption(limitOption())
    .action(async (options: { limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      await ctx.out.list(
        instanceColumns,
        await ctx.client().list<Instance>(INSTANCES, {}, { limit: options.limit }),
      )
    })

  instance
    .command('show')
    .description('show an instance')
    .argument('<instance-id>', 'idaas_…')
    .action(async (instanceId: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await ctx.out.record(
        instanceFields,
        await ctx.client().get<Instance>(`${INSTANCES}/${segment(instanceId)}`),
      )
    })
}
