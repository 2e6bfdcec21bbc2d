import type { Application, CreateApplicationBody, UpdateApplicationBody } from '@strongroom/protocol'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { UsageError } from '../errors.js'
import { parseSeconds } from '../option-parsers.js'
import { applicationColumns, applicationFields } from '../views.js'
import { registerAppFederatedCommands } from './app-federated.js'
import { registerAppKeyCommands } from './app-key.js'
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
    .option(
      '--scope <scope>',
      'a scope it may ask for, audience|value (repeatable; default: none)',
      collect,
      [],
    )
    .option('--token-lifetime <seconds>', 'access-token lifetime (60–86400; default 3600)', parseSeconds)
    .action(async (options: AppOptions & { name: string }, command: Command) => {
      const ctx = contextFor(command)
      const body: CreateApplicationBody = compact({
        name: options.name,
        description: options.description,
        allowedScopes: options.scope.length > 0 ? options.scope : undefined,
        accessTokenLifetime: options.tokenLifetime,
      })
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

  app
    .command('update')
    .description("change an application's name, description, allowed scopes or token lifetime")
    .argument('<application-id>', 'app_…')
    .option('--name <name>', 'a new name')
    .option('--description <text>', 'a new description')
    .option('--scope <scope>', 'replaces the allowed scopes: audience|value (repeatable)', collect, [])
    .option('--no-scopes', 'allow no scope at all')
    .option('--token-lifetime <seconds>', 'access-token lifetime (60–86400)', parseSeconds)
    .action(
      async (
        applicationId: string,
        options: AppOptions & { name?: string; scopes: boolean },
        command: Command,
      ) => {
        const ctx = contextFor(command)
        const body: UpdateApplicationBody = compact({
          name: options.name,
          description: options.description,
          allowedScopes: options.scopes === false ? [] : options.scope.length > 0 ? options.scope : undefined,
          accessTokenLifetime: options.tokenLifetime,
        })
        if (Object.keys(body).length === 0) {
          throw new UsageError(
            'app update needs --name, --description, --scope, --no-scopes or --token-lifetime',
          )
        }
        const changed = await ctx.client().patch<Application>(await applicationPath(ctx, applicationId), body)
        await ctx.out.record(applicationFields, changed)
      },
    )

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
  registerAppKeyCommands(app, contextFor)
  registerAppFederatedCommands(app, contextFor)
}

interface AppOptions {
  description?: string
  scope: string[]
  tokenLifetime?: number
}

/** Commander's accumulator for a repeatable option. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}
