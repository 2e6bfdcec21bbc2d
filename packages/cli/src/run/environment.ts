/**
 * The command's environment is built in two steps:
 *
 * 1. **Sources**, later ones winning: the environment `run` inherited, each `--dotenv` in order,
 *    then each `--env NAME=VALUE` in order ({@link mergeSources}).
 * 2. **Contributors**, in order, each given the environment so far and returning the variables it
 *    sets (or, with `undefined`, removes). The references contributor (resolve-references.ts)
 *    replaces `strongroom://…` values with secrets; a later one can add variables of its own — the
 *    planned `--cloud-role ROLE_ARN` starts a loopback credentials endpoint in `setup` and adds
 *    `ALIBABA_CLOUD_CREDENTIALS_URI`, `AWS_CONTAINER_CREDENTIALS_FULL_URI` and its token, and
 *    stops it in `teardown`.
 *
 * A contributor lives as long as `run`: `setup` before the first command starts (a throw stops
 * `run` before anything starts, exit 1), `watch` with `--watch`, `teardown` once the last command
 * exited (or when a later contributor's setup failed). The environment is built again from the
 * current contributions before each restart.
 */

/** What a contributor may do besides returning variables. */
export interface ContributorHooks {
  /**
   * Hides a value in the command's output from now on: for as long as `run` lives, or with `until`
   * (epoch ms) until then (a cloud credential: its expiry and an hour). False when masking is on
   * and the value is too short to be masked (under 4 characters): the contributor should say so.
   */
  conceal(value: string, options?: { until?: number | undefined }): boolean
  /**
   * Says a value this contributor concealed is no longer given to the command (it was replaced, and
   * the command restarted without it): it stays hidden for an hour more
   * (`RETIRE_GRACE_MS`), then no longer, unless concealed again.
   */
  retire(value: string): void
  /**
   * Says the contribution changed: the command restarts once (changes within `--watch-debounce`
   * coalesce, then a random jitter) with the environment built anew.
   */
  changed(what: string): void
  /** One line on stderr, `strongroom: …`. Never pass a secret (known secrets are redacted anyway). */
  report(line: string): void
  /** One line on stderr with `--verbose` only. Never pass a secret. */
  verbose(line: string): void
  /** Aborted when `run` is stopping. */
  readonly signal: AbortSignal
}

export interface EnvironmentContributor {
  /** For messages: `references`, `cloud-role`. */
  readonly name: string
  /** Prepares the contribution; called once, in order, before the first command starts. */
  setup(hooks: ContributorHooks): Promise<void>
  /**
   * The variables this contributor sets over `base` (the sources and the contributors before it);
   * `undefined` removes a variable. Called before each start of the command.
   */
  environment(base: Readonly<Record<string, string>>): Readonly<Record<string, string | undefined>>
  /** With `--watch`: starts noticing changes, reported through `hooks.changed`. */
  watch?(hooks: ContributorHooks): void
  /** Releases what setup took (listeners, timers, files); called once, in reverse order. */
  teardown(): Promise<void>
}

/** A variable and where it came from, for messages (`--env`, `.env line 3`, `environment`). */
export interface SourcedValue {
  readonly value: string
  readonly origin: string
}

/** The sources merged, later ones winning; the order of first appearance is kept. */
export function mergeSources(
  ...sources: readonly (readonly { name: string; value: string; origin: string }[])[]
): Map<string, SourcedValue> {
  const merged = new Map<string, SourcedValue>()
  for (const source of sources) {
    for (const { name, value, origin } of source) merged.set(name, { value, origin })
  }
  return merged
}

/** The inherited environment as a source. */
export function inheritedSource(
  env: Readonly<Record<string, string | undefined>>,
): { name: string; value: string; origin: string }[] {
  return Object.entries(env).flatMap(([name, value]) =>
    value === undefined ? [] : [{ name, value, origin: 'the environment' }],
  )
}

/** The environment after every contributor, in order, had its say. */
export function composeEnvironment(
  base: ReadonlyMap<string, SourcedValue>,
  contributors: readonly EnvironmentContributor[],
): Record<string, string> {
  let env: Record<string, string> = {}
  for (const [name, { value }] of base) env[name] = value
  for (const contributor of contributors) {
    const next = { ...env }
    for (const [name, value] of Object.entries(contributor.environment(env))) {
      if (value === undefined) delete next[name]
      else next[name] = value
    }
    env = next
  }
  return env
}
