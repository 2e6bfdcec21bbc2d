import { readFile } from 'node:fs/promises'
import type {
  CreateFederatedCredentialBody,
  FederatedCredential,
  FederatedCredentialList,
} from '@strongroom/protocol'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { UsageError } from '../errors.js'
import { toJson } from '../safe-text.js'
import { federatedCredentialColumns } from '../views.js'
import { applicationPath } from './application-path.js'
import type { ContextFor } from './context-for.js'

/** `strongroom app federated create|list|delete`: external OIDC issuers an application's workloads authenticate with. */
export function registerAppFederatedCommands(app: Command, contextFor: ContextFor): void {
  const federated = app
    .command('federated')
    .description(
      'federated credentials: tokens of an external OIDC issuer (Kubernetes, CI) the application may present',
    )

  federated
    .command('create')
    .description('trust tokens of an issuer, for one subject and audience')
    .argument('<application-id>', 'app_…')
    .requiredOption('--name <name>', 'what the workload sends as application_federated_credential_name')
    .requiredOption('--issuer <iss>', "the token's iss, exactly")
    .requiredOption('--subject <sub>', "the token's sub, exactly")
    .requiredOption(
      '--audience <aud>',
      'an accepted audience (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--jwks-uri <url>', 'where the issuer publishes its keys (fetched and cached)')
    .option('--jwks-file <path>', 'a static JWKS instead')
    .action(
      async (
        applicationId: string,
        options: {
          name: string
          issuer: string
          subject: string
          audience: string[]
          jwksUri?: string
          jwksFile?: string
        },
        command: Command,
      ) => {
        if ((options.jwksUri === undefined) === (options.jwksFile === undefined)) {
          throw new UsageError('give --jwks-uri or --jwks-file, one of them')
        }
        const ctx = contextFor(command)
        const jwks = options.jwksFile === undefined ? undefined : await readJwks(options.jwksFile)
        const body: CreateFederatedCredentialBody = compact({
          name: options.name,
          issuer: options.issuer,
          subject: options.subject,
          audiences: options.audience,
          jwksUri: options.jwksUri,
          jwks,
        })
        const created = await ctx
          .client()
          .post<FederatedCredential>(
            `${await applicationPath(ctx, applicationId)}/federated-credentials`,
            body,
          )
        await ctx.out.list(federatedCredentialColumns, [created])
      },
    )

  federated
    .command('list')
    .description("list an application's federated credentials")
    .argument('<application-id>', 'app_…')
    .action(async (applicationId: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      const listed = await ctx
        .client()
        .get<FederatedCredentialList>(`${await applicationPath(ctx, applicationId)}/federated-credentials`)
      await ctx.out.list(federatedCredentialColumns, listed.entities)
    })

  federated
    .command('delete')
    .description('delete a federated credential')
    .argument('<application-id>', 'app_…')
    .argument('<federated-credential-id>', 'fc_…')
    .action(async (applicationId: string, id: string, _options: object, command: Command) => {
      const ctx = contextFor(command)
      await ctx
        .client()
        .delete(
          `${await applicationPath(ctx, applicationId)}/federated-credentials/${encodeURIComponent(id)}`,
        )
      if (ctx.out.json) await ctx.out.write(`${toJson({ federatedCredentialId: id, deleted: true })}\n`)
    })
}

async function readJwks(file: string): Promise<NonNullable<CreateFederatedCredentialBody['jwks']>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { keys?: unknown }
    if (Array.isArray(parsed.keys)) return parsed as NonNullable<CreateFederatedCredentialBody['jwks']>
  } catch {
    // fall through
  }
  throw new UsageError(`${file} is not a JWKS ({"keys": [...]})`)
}
