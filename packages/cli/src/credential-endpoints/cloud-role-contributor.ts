import type { ContributorHooks, EnvironmentContributor } from '../run/environment.js'
import {
  type CredentialEndpointRole,
  type CredentialEndpoints,
  startCredentialEndpoints,
} from './credential-endpoints.js'
import type { CloudCredentialSource } from './role-feed.js'

export interface CloudRolesContributorOptions {
  /** `--listen` of the endpoint (default `127.0.0.1:0`). */
  readonly listen?: string | undefined
}

/**
 * `strongroom run --cloud-role ARN …`: starts the loopback credentials endpoints in `setup` (after the
 * references), adds their variables to the command's environment, removes the variables that would
 * take precedence over them in the vendors' chains (saying which, once), conceals the capability
 * and every served secret in the command's output, and stops the endpoints in `teardown`. `open`
 * makes the PAM client on first use; it is closed at teardown when it has a `close`.
 */
export class CloudRolesContributor implements EnvironmentContributor {
  readonly name = 'cloud-role'
  readonly #roles: readonly CredentialEndpointRole[]
  readonly #open: () => Promise<CloudCredentialSource & { close?: () => Promise<void> }>
  readonly #options: CloudRolesContributorOptions
  #source: (CloudCredentialSource & { close?: () => Promise<void> }) | undefined
  #endpoints: CredentialEndpoints | undefined
  #reported = false
  #hooks: ContributorHooks | undefined

  constructor(
    roles: readonly CredentialEndpointRole[],
    open: () => Promise<CloudCredentialSource & { close?: () => Promise<void> }>,
    options: CloudRolesContributorOptions = {},
  ) {
    this.#roles = roles
    this.#open = open
    this.#options = options
  }

  async setup(hooks: ContributorHooks): Promise<void> {
    if (this.#roles.length === 0) return
    this.#hooks = hooks
    this.#source = await this.#open()
    try {
      this.#endpoints = await startCredentialEndpoints({
        pam: this.#source,
        roles: this.#roles,
        listen: this.#options.listen,
        log: (line) => hooks.report(`cloud role ${line}`),
        // A credential's secrets are masked until an hour after it expires, then forgotten: a long
        // run refreshes them every 45 minutes or so, and the masking set must not grow with that.
        onSecret: (value, until) => {
          hooks.conceal(value, { until })
        },
      })
    } catch (error) {
      // Our own failed setup gets no teardown: close what was opened.
      await this.#source.close?.()
      this.#source = undefined
      throw error
    }
    hooks.verbose(
      `serving ${this.#roles.map((r) => r.arn).join(', ')} on ${this.#endpoints.url}: ${Object.keys(this.#endpoints.env).join(', ')}`,
    )
  }

  environment(base: Readonly<Record<string, string>>): Readonly<Record<string, string | undefined>> {
    const endpoints = this.#endpoints
    if (endpoints === undefined) return {}
    const removed = endpoints.unset.filter((name) => base[name] !== undefined)
    if (removed.length > 0 && !this.#reported) {
      this.#reported = true
      this.#hooks?.report(
        `--cloud-role: not passing ${removed.join(', ')} to the command: they would take precedence over the credentials endpoint`,
      )
    }
    return { ...Object.fromEntries(removed.map((name) => [name, undefined])), ...endpoints.env }
  }

  async teardown(): Promise<void> {
    await this.#endpoints?.close()
    await this.#source?.close?.()
  }
}
