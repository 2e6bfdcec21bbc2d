import type { Instance } from '@strongroom/protocol'
import type { ConsoleSession } from './api.js'

/** What a page gets: where to render, the route's parameters and the session. */
export interface PageContext {
  main: HTMLElement
  params: Record<string, string>
  /** The instance the page administers (the route's, else the default one). */
  instanceId: string
  session: ConsoleSession
  /** The instances the admin token may administer, as far as they could be listed. */
  instances: readonly Instance[]
  /** Aborted when the reader leaves the page: stop timers, drop revealed values. */
  signal: AbortSignal
  /** Run when the reader leaves the page (navigation, sign-out, session end). */
  onLeave(fn: () => void): void
  /** Reload the instance list (after one is created) into the instance picker. */
  reloadInstances(): Promise<void>
}
