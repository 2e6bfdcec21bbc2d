import { type CliResult, runCli, type ServerProcess } from '../support/server-process.js'

/** Runs `strongroom …` against a running server, found the way an operator's shell finds it. */
export async function cli(server: ServerProcess, args: string[], input?: string): Promise<CliResult> {
  const env = { STRONGROOM_URL: server.url, STRONGROOM_ADMIN_TOKEN: await server.adminToken() }
  return runCli(args, input === undefined ? { env } : { env, input })
}

/** Like `cli`, but fails the test with the command's output when it does not exit 0. */
export async function ok(server: ServerProcess, args: string[], input?: string): Promise<string> {
  const r = await cli(server, args, input)
  if (r.code !== 0) throw new Error(`strongroom ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`)
  return r.stdout
}

// biome-ignore lint/suspicious/noExplicitAny: command output is checked field by field by the assertions
export async function okJson<T = any>(server: ServerProcess, args: string[], input?: string): Promise<T> {
  return JSON.parse(await ok(server, [...args, '--json'], input)) as T
}

/**
 * An `oauth` credential provider whose upstream is a second application of the same server (its
 * tokens for `urn:cloud:idaas:pam|credential:obtain`), made with the CLI, and a `use` grant on it
 * for `grantTo`. Returns the upstream application.
 */
export async function createUpstreamProvider(
  server: ServerProcess,
  options: { identifier: string; tokenEndpoint: string; grantTo: string },
): Promise<{ applicationId: string; clientId: string; clientSecret: string }> {
  const scope = 'urn:cloud:idaas:pam|credential:obtain'
  const upstream = await okJson(server, [
    'app',
    'create',
    '--name',
    `${options.identifier}-upstream`,
    '--scope',
    scope,
  ])
  const clientSecret = (await okJson(server, ['app', 'secret', 'create', upstream.applicationId]))
    .clientSecret as string
  await ok(
    server,
    [
      'provider',
      'create',
      '--identifier',
      options.identifier,
      '--type',
      'oauth',
      '--token-endpoint',
      options.tokenEndpoint,
      '--client-id',
      upstream.clientId,
      '--default-scope',
      scope,
    ],
    `${clientSecret}\n`,
  )
  await ok(server, [
    'grant',
    'create',
    '--app',
    options.grantTo,
    '--type',
    'credential_provider',
    '--resource',
    options.identifier,
    '--actions',
    'use',
  ])
  return { applicationId: upstream.applicationId, clientId: upstream.clientId, clientSecret }
}

/** The audit actions the developer API's operations write (FetchOAuth's aside: it needs an upstream). */
export const PAM_AUDIT_ACTIONS = [
  'credential.obtain',
  'authentication_token.generate_jwt',
  'authentication_token.obtain_jwt',
  'authentication_token.obtain_jwt_by_derived_short_token',
  'authentication_token.list',
  'authentication_token.validate',
  'authentication_token.revoke',
  'authentication_token.reinstate',
  'authentication_token.revoke_by_consumer',
  'authentication_token.reinstate_by_consumer',
] as const
