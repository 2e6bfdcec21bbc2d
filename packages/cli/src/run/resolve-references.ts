import { createHash } from 'node:crypto'
import type { PamClient } from '@strongroom/sdk'
import { CliError } from '../errors.js'
import { formatError } from '../format-error.js'
import type { ContributorHooks, EnvironmentContributor, SourcedValue } from './environment.js'
import {
  type CredentialField,
  fetchKey,
  fetchOf,
  formatReference,
  isReference,
  isSecretReference,
  MalformedReference,
  parseReference,
  type SecretFetch,
  type SecretReference,
  shownValue,
} from './references.js'
import { Poller } from './watch.js'

/** How many requests are in flight at once while resolving. */
export const RESOLVE_CONCURRENCY = 8

/** What one request answered: the credential type (for messages) and the values it holds. */
export interface FetchedSecret {
  /** `api_key`, `oauth_client`, `password`, `ssh_key`; `account`; `provider`. */
  readonly type: string
  /** For a credential its fields by name; else the one value under `value`. */
  readonly values: Readonly<Partial<Record<CredentialField | 'value', string>>>
}

/** Where secrets come from: the PAM client, or a fake in tests. */
export interface SecretSource {
  fetch(request: SecretFetch, signal: AbortSignal): Promise<FetchedSecret>
}

/** The SDK client as a {@link SecretSource}; `reason` goes with every account retrieval. */
export function pamSecretSource(pam: PamClient, options: { reason?: string | undefined } = {}): SecretSource {
  const reason = options.reason === undefined ? {} : { reason: options.reason }
  return {
    async fetch(request, signal) {
      switch (request.kind) {
        case 'credential': {
          const obtained = await pam.obtainCredential(request.identifier, { signal })
          const c = obtained.credentialContent
          return {
            type: obtained.credentialType,
            values: definedOnly({
              apiKey: c.apiKeyContent?.apiKey,
              clientId: c.oauthClientContent?.clientId,
              clientSecret: c.oauthClientContent?.clientSecret,
              password: c.passwordContent?.password,
              username: c.passwordContent?.username,
              privateKey: c.sshKeyContent?.privateKey,
              passphrase: c.sshKeyContent?.passphrase,
            }),
          }
        }
        case 'account-password':
          return {
            type: 'account',
            values: { value: await pam.getPassword(request.account, { ...reason, signal }) },
          }
        case 'account-ssh-key':
          return {
            type: 'account',
            values: { value: (await pam.getSshKey(request.account, { ...reason, signal })).key },
          }
        case 'provider-oauth-token': {
          const token = await pam.fetchOAuthAuthenticationToken(
            { credentialProviderIdentifier: request.identifier },
            { signal },
          )
          const value = token.oauthAccessTokenContent?.accessTokenValue
          return { type: 'provider', values: value === undefined ? {} : { value } }
        }
      }
    },
  }
}

/**
 * A {@link pamSecretSource} on a client made on first use: `run` with no reference in its
 * environment needs no client configuration. Disposing closes the client, if one was made.
 */
export function lazyPamSource(
  open: () => Promise<PamClient>,
  options: { reason?: string | undefined } = {},
): SecretSource & AsyncDisposable {
  let client: Promise<SecretSource & { pam: PamClient }> | undefined
  return {
    async fetch(request, signal) {
      client ??= open().then((pam) => ({ pam, ...pamSecretSource(pam, options) }))
      return (await client).fetch(request, signal)
    },
    async [Symbol.asyncDispose]() {
      const made = await client?.catch(() => undefined)
      await made?.pam.close()
    },
  }
}

function definedOnly(
  values: Record<CredentialField, string | undefined>,
): Partial<Record<CredentialField, string>> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<
    Record<CredentialField, string>
  >
}

/** A variable whose value is a reference. */
export interface Binding {
  readonly name: string
  readonly origin: string
  readonly reference: SecretReference
  /** The request that serves it. */
  readonly key: string
}

/** The variables of `env` that hold references; throws, naming each malformed one, when any is. */
export function findBindings(
  env: ReadonlyMap<string, SourcedValue>,
  report: (line: string) => void,
): Binding[] {
  const bindings: Binding[] = []
  const malformed: string[] = []
  for (const [name, { value, origin }] of env) {
    if (!isReference(value)) continue
    try {
      const reference = parseReference(value)!
      bindings.push({ name, origin, reference, key: fetchKey(fetchOf(reference)) })
    } catch (error) {
      if (!(error instanceof MalformedReference)) throw error
      malformed.push(`${name}=${shownValue(value)} (${origin}) is not a reference: ${error.message}`)
    }
  }
  throwAll(malformed, 'InputInvalid', report)
  return bindings
}

/**
 * The value a reference names in what its request answered, or a message saying why there is none
 * (the credential has another type, the provider answered no token).
 */
export function valueFor(reference: SecretReference, fetched: FetchedSecret): string | { problem: string } {
  if (reference.kind === 'account') {
    return fetched.values.value ?? { problem: `account ${reference.account} answered no ${reference.secret}` }
  }
  if (reference.kind === 'provider') {
    return (
      fetched.values.value ?? {
        problem: `credential provider ${reference.identifier} answered without an access token: a user must authorize it first`,
      }
    )
  }
  const fields = Object.keys(fetched.values).join(', ') || 'none'
  const what = `credential ${reference.identifier} is of type ${fetched.type}`
  if (reference.field === undefined) {
    return (
      fetched.values.apiKey ?? {
        problem: `${what}: name one of its fields, e.g. ${REFERENCE_EXAMPLE(reference.identifier, Object.keys(fetched.values)[0])} (its fields: ${fields})`,
      }
    )
  }
  return (
    fetched.values[reference.field] ?? {
      problem: `${what} and has no ${reference.field} (its fields: ${fields})`,
    }
  )
}

const REFERENCE_EXAMPLE = (identifier: string, field: string | undefined) =>
  `strongroom://credential/${identifier}/${field ?? 'FIELD'}`

/**
 * Runs `work` on every item, at most `limit` at a time, and resolves with the settled results in the
 * items' order.
 */
export async function settleAll<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]!) }
      } catch (reason) {
        results[index] = { status: 'rejected', reason }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

export interface ReferencesOptions {
  readonly concurrency?: number
  /** With `--watch`: the poll interval. */
  readonly watchIntervalMs?: number
}

/**
 * The contributor that replaces `strongroom://…` values with what they name. Identical requests
 * are made once (de-duplicated by {@link fetchKey}), at most {@link RESOLVE_CONCURRENCY} at a time.
 * Any failure — a malformed reference, one the server refuses (not found, not granted, disabled), a
 * field the credential lacks — stops `run` before the command starts, naming the variable, the
 * reference and the server's code, and never a value.
 */
export class ReferencesContributor implements EnvironmentContributor {
  readonly name = 'references'
  readonly #env: ReadonlyMap<string, SourcedValue>
  readonly #source: SecretSource
  readonly #options: ReferencesOptions
  #bindings: Binding[] = []
  /** Per variable: its value and the SHA-256 of it that polls compare with. */
  readonly #values = new Map<string, { value: string; hash: string }>()
  #poller: Poller | undefined
  #polls = 0
  #hooks: ContributorHooks | undefined
  /** Values a poll replaced, still in the environment of the command running until it restarts. */
  readonly #replaced = new Set<string>()

  constructor(env: ReadonlyMap<string, SourcedValue>, source: SecretSource, options: ReferencesOptions = {}) {
    this.#env = env
    this.#source = source
    this.#options = options
  }

  /** How many variables hold references, and how many requests serve them. */
  get counts(): { variables: number; requests: number } {
    return { variables: this.#bindings.length, requests: new Set(this.#bindings.map((b) => b.key)).size }
  }

  async setup(hooks: ContributorHooks): Promise<void> {
    this.#hooks = hooks
    this.#bindings = findBindings(this.#env, (line) => hooks.report(line))
    if (this.#bindings.length === 0) return
    const resolved = await this.#resolve(hooks.signal)
    const failures: string[] = []
    for (const binding of this.#bindings) {
      const outcome = resolved.get(binding.name)!
      if ('failure' in outcome) {
        failures.push(`cannot resolve ${describeBinding(binding)}: ${outcome.failure}`)
        continue
      }
      this.#values.set(binding.name, { value: outcome.value, hash: hashOf(outcome.value) })
    }
    throwAll(failures, 'ApiError', (line) => hooks.report(line))
    for (const binding of this.#bindings) {
      if (!isSecretReference(binding.reference)) continue
      if (!hooks.conceal(this.#values.get(binding.name)!.value)) {
        hooks.report(`${binding.name}'s value is shorter than 4 characters: it is not masked in the output`)
      }
    }
    const { variables, requests } = this.counts
    hooks.verbose(
      `resolved ${variables} variable${variables === 1 ? '' : 's'} with ${requests} request${requests === 1 ? '' : 's'}: ${this.#bindings.map((b) => `${b.name}=${formatReference(b.reference)}`).join(', ')}`,
    )
  }

  /**
   * Called as the command (re)starts: the values a poll replaced leave its environment now, so
   * they stop being masked an hour later (the set of masked values does not grow with each change).
   */
  environment(): Readonly<Record<string, string | undefined>> {
    const current = new Set([...this.#values.values()].map(({ value }) => value))
    for (const value of this.#replaced) if (!current.has(value)) this.#hooks?.retire(value)
    this.#replaced.clear()
    return Object.fromEntries([...this.#values].map(([name, { value }]) => [name, value]))
  }

  watch(hooks: ContributorHooks): void {
    if (this.#options.watchIntervalMs === undefined) return
    if (this.#bindings.length === 0) {
      hooks.report('--watch: no strongroom:// reference in the environment, nothing to watch')
      return
    }
    this.#poller = new Poller(this.#options.watchIntervalMs, () => this.#poll(hooks))
    this.#poller.start()
  }

  async teardown(): Promise<void> {
    this.#poller?.stop()
  }

  /** Re-reads every reference; a changed value is concealed and reported as a change. */
  async #poll(hooks: ContributorHooks): Promise<void> {
    if (hooks.signal.aborted) return
    const poll = ++this.#polls
    const resolved = await this.#resolve(hooks.signal)
    if (hooks.signal.aborted) return
    const changed: string[] = []
    let failed = 0
    for (const binding of this.#bindings) {
      const outcome = resolved.get(binding.name)!
      if ('failure' in outcome) {
        failed++
        hooks.report(
          `watch: cannot re-read ${describeBinding(binding)}: ${outcome.failure}; the command keeps the value it has, and the next poll tries again`,
        )
        continue
      }
      const hash = hashOf(outcome.value)
      const before = this.#values.get(binding.name)
      if (before?.hash === hash) continue
      if (before !== undefined && isSecretReference(binding.reference)) this.#replaced.add(before.value)
      this.#values.set(binding.name, { value: outcome.value, hash })
      if (isSecretReference(binding.reference)) hooks.conceal(outcome.value)
      changed.push(binding.name)
    }
    const { requests } = this.counts
    const summary = changed.length === 0 ? 'no change' : `changed: ${changed.join(', ')}`
    hooks.verbose(
      `watch: poll ${poll} re-read ${requests} reference${requests === 1 ? '' : 's'}${failed > 0 ? ` (${failed} failed)` : ''}: ${summary}`,
    )
    if (changed.length > 0) hooks.changed(changed.join(', '))
  }

  /** Makes every distinct request once and maps the outcome onto each variable. */
  async #resolve(signal: AbortSignal): Promise<Map<string, { value: string } | { failure: string }>> {
    const requests = new Map<string, SecretFetch>()
    for (const binding of this.#bindings) requests.set(binding.key, fetchOf(binding.reference))
    const keys = [...requests.keys()]
    const settled = await settleAll(keys, this.#options.concurrency ?? RESOLVE_CONCURRENCY, (key) =>
      this.#source.fetch(requests.get(key)!, signal),
    )
    const byKey = new Map(keys.map((key, i) => [key, settled[i]!]))
    const known = [...this.#values.values()].map((v) => v.value)
    const outcomes = new Map<string, { value: string } | { failure: string }>()
    for (const binding of this.#bindings) {
      const result = byKey.get(binding.key)!
      if (result.status === 'rejected') {
        outcomes.set(binding.name, { failure: describeError(result.reason, known) })
        continue
      }
      const value = valueFor(binding.reference, result.value)
      outcomes.set(binding.name, typeof value === 'string' ? { value } : { failure: value.problem })
    }
    return outcomes
  }
}

function describeBinding(binding: Binding): string {
  return `${binding.name}=${formatReference(binding.reference)} (${binding.origin})`
}

/** The error as `get` prints it (the server's code first), without the `strongroom: ` prefix. */
function describeError(error: unknown, secrets: readonly string[]): string {
  return formatError(error, secrets).replace(/^strongroom: /, '')
}

function hashOf(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}

/** Reports every message but the last, and throws the last; nothing when there is none. */
function throwAll(
  messages: readonly string[],
  code: 'InputInvalid' | 'ApiError',
  report: (line: string) => void,
) {
  if (messages.length === 0) return
  for (const message of messages.slice(0, -1)) report(message)
  const more = messages.length > 1 ? ` (${messages.length} references failed; nothing was started)` : ''
  throw new CliError(code, `${messages.at(-1)!}${more}`)
}
