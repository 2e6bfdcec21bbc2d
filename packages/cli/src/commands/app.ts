import type { Application, CreateApplicationBody } from '@strongroom/protocol'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { applicationColumns, applicationFields } from '../views.js'
import { registerAppSecretCommands } from './app-secret.js'
import { applicationPath } from './application-path.js'
import { type ContextFor, limitOption } from './context-for.js'

/** `strongroom app create|list|show|disable|enable` and `strongroom app secret …`. */
export function registerAppCommands(program: Command, contextFor: ContextFor): void {
  const app = program.command('app').description('manage applications (workload identities)')

  app
    .command('create')
    .description('create an application')
    .requiredOption('--name <name>', 'the application name')
    .option('--description <text>', 'what the application is')
    .action(async (options: { name: string; description?: string }, command: Command) => {
      const ctx = contextFor(command)
      const body: CreateApplicationBody = compact({ name: options.name, description: options.description })
      const created = await ctx.client().post<Application>(await applicationPath(ctx), body)
      await ctx.out.record(applicationFields, created)
    })

  app
    .command('list')
    .description('list applications')
    .addOption(limitOption())
    .action(async (options: { limit?: number }, command: Command) => {
      const ctx = contextFor(command)
      const client = ctx.client()
      const apps = await client.list<Application>(await applicationPath(ctx), {}, { limit: options.limit })
      await ctx.out.list(applicationColumns, apps)
    })

  app
    .command('show')
    .description('show an application')
    .argument('<application-id>', 'app_…')
    .action(async (applicationId: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      const shown = await ctx.client().get<Application>(await applicationPath(ctx, applicationId))
      await ctx.out.record(applicationFields, shown)
    })

  for (const action of ['disable', 'enable'] as const) {
    app
      .command(action)
      .description(`${action} an application`)
      .argument('<application-id>', 'app_…')
      .action(async (applicationId: string, _options: object, command: Command) => {
        const ctx = contextFor(command)
        const changed = await ctx
          .client()
          .post<Application>(`${await applicationPath(ctx, applicationId)}/${action}`)
        await ctx.out.record(applicationFields, changed)
      })
  }

  registerAppSecretCommands(app, contextFor)
}
