import type { ContributorHooks, EnvironmentContributor, SourcedValue } from './environment.js'

/**
 * strongroom's own credentials in `run`'s environment.
 *
 * `run` authenticates as the workload with a long-lived credential from its environment: the
 * client secret (`IDAAS_CLIENT_SECRET`, the name `npm start`'s client configuration gives it, or
 * `CLOUD_IDAAS_CLIENT_SECRET` of the SDK's environment link), the private key of `PRIVATE_KEY_JWT`,
 * or the path of an OIDC token file; an operator's shell may hold the admin token
 * (`STRONGROOM_ADMIN_TOKEN`) as well. Passed on, any of them would give the command every secret
 * the workload is granted, not just the ones `run` was asked for. So by default they are removed
 * from the command's environment, as `--cloud-role` removes the cloud keys; `--pass-credentials`
 * keeps them. Either way the secret ones are masked in the command's output.
 */

/** A variable strongroom authenticates with, and whether its value is a secret (else a path). */
export interface CredentialVariable {
  readonly name: string
  readonly secret: boolean
}

/**
 * The variables strongroom reads its credentials from whatever the configuration says: the admin
 * token of the admin commands, and the SDK's environment link (`CREDENTIAL_ENV` in
 * `@strongroom/sdk`), plus `IDAAS_CLIENT_SECRET`, the client secret's usual name.
 */
export const FIXED_CREDENTIAL_VARIABLES: readonly CredentialVariable[] = [
  { name: 'STRONGROOM_ADMIN_TOKEN', secret: true },
  { name: 'IDAAS_CLIENT_SECRET', secret: true },
  { name: 'CLOUD_IDAAS_CLIENT_SECRET', secret: true },
  { name: 'CLOUD_IDAAS_OIDC_TOKEN_FILE', secret: false },
]

/** What of the client configuration's `authnConfiguration` names a variable. */
export interface AuthnVariableNames {
  readonly clientSecretEnvVarName?: string | undefined
  readonly privateKeyEnvVarName?: string | undefined
  readonly oidcTokenFilePathEnvVarName?: string | undefined
}

/**
 * The variables strongroom authenticates with: the fixed ones and those the client configuration's
 * `authnConfiguration` names (when there is one), each once.
 */
export function credentialVariables(authn: AuthnVariableNames | undefined): CredentialVariable[] {
  const found = new Map<string, CredentialVariable>()
  const add = (name: string | undefined, secret: boolean) => {
    if (name !== undefined && name !== '' && !found.has(name)) found.set(name, { name, secret })
  }
  for (const { name, secret } of FIXED_CREDENTIAL_VARIABLES) add(name, secret)
  add(authn?.clientSecretEnvVarName, true)
  add(authn?.privateKeyEnvVarName, true)
  add(authn?.oidcTokenFilePathEnvVarName, false)
  return [...found.values()]
}

/** Where a variable comes from when `run` inherited it (see `inheritedSource`). */
const INHERITED = 'the environment'

/**
 * The contributor that removes from the command's environment the credential variables `run`
 * inherited (unless `pass`), and conceals the secret ones in its output either way. A variable
 * set by `--dotenv` or `--env` is the user's explicit choice for the command and stays.
 */
export class WorkloadCredentialsContributor implements EnvironmentContributor {
  readonly name = 'credentials'
  readonly #base: ReadonlyMap<string, SourcedValue>
  readonly #variables: readonly CredentialVariable[]
  readonly #pass: boolean
  #removed: string[] = []

  constructor(
    base: ReadonlyMap<string, SourcedValue>,
    variables: readonly CredentialVariable[],
    options: { pass: boolean },
  ) {
    this.#base = base
    this.#variables = variables
    this.#pass = options.pass
  }

  async setup(hooks: ContributorHooks): Promise<void> {
    const present = this.#variables.filter((v) => this.#base.has(v.name))
    const inherited = present.filter((v) => this.#base.get(v.name)!.origin === INHERITED).map((v) => v.name)
    if (!this.#pass) this.#removed = inherited
    for (const variable of present) {
      if (!variable.secret) continue
      const concealed = hooks.conceal(this.#base.get(variable.name)!.value)
      if (!concealed && !this.#removed.includes(variable.name)) {
        hooks.report(`${variable.name}'s value is shorter than 4 characters: it is not masked in the output`)
      }
    }
    if (inherited.length === 0) return
    if (this.#pass) {
      hooks.verbose(`--pass-credentials: passing ${inherited.join(', ')} to the command`)
      return
    }
    hooks.verbose(
      `not passing ${inherited.join(', ')} to the command: strongroom authenticates with them (--pass-credentials passes them)`,
    )
  }

  environment(): Readonly<Record<string, string | undefined>> {
    return Object.fromEntries(this.#removed.map((name) => [name, undefined]))
  }

  async teardown(): Promise<void> {}
}
