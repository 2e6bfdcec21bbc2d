// What the page of one resource (an account, a credential, a provider…) shares with the others:
// the error line for actions that reload the page, the enable/disable toggle, the versions table.

import { get, inst, post, seg } from './api.js'
import type { PageContext } from './context.js'
import { h, replace } from './dom.js'
import { type Page, type PagedList, pagedList } from './list.js'
import { badge, button, type Column, confirmButton, mono, reportTo, time } from './ui.js'

/** Runs a page's actions: each one clears the last failure, then reloads or shows why it failed. */
export interface PageActions {
  /** Where a failed action says why: place it under the page's header. */
  element: HTMLElement
  /** Run `fn`, then `reload` (the whole page unless given). */
  act(fn: () => Promise<unknown>, reload?: () => Promise<void>): Promise<void>
}

export function pageActions(reloadPage: () => Promise<void>): PageActions {
  const element = h('div', { class: 'action-error' })
  return {
    element,
    act: (fn, reload = reloadPage) => {
      replace(element)
      return reportTo(element, async () => {
        await fn()
        await reload()
      })
    },
  }
}

export interface StatusToggleOptions {
  enabled: boolean
  /** The resource's admin API path: the toggle posts to `/enable` and `/disable` below it. */
  path: string
  /** What the dialog asks about: "Disable ‹name›?". */
  name: string
  /** What disabling stops, said in the dialog. */
  message: string
  act: (fn: () => Promise<unknown>) => Promise<void>
  /** In a table row: the button's accessible name says what it acts on ("Disable ‹name›"). */
  inRow?: boolean
}

/** "Disable" (after a confirmation) for an enabled resource, "Enable" for a disabled one. */
export function statusToggle(options: StatusToggleOptions): HTMLButtonElement {
  const { path, name, act } = options
  const ariaLabel = (verb: string): string | undefined => (options.inRow ? `${verb} ${name}` : undefined)
  return options.enabled
    ? confirmButton(
        'Disable',
        { title: `Disable ${name}?`, message: options.message },
        () => act(() => post(`${path}/disable`)),
        ariaLabel('Disable'),
      )
    : button('Enable', () => act(() => post(`${path}/enable`)), { ariaLabel: ariaLabel('Enable') })
}

/** One version of a versioned resource (a credential's, an account's). */
export interface Version {
  version: number
  current: boolean
  createTime: number
  createdBy: string
}

/** The versions of a versioned resource at `path`, newest first; `extra` columns after "Current". */
export function versionsList<V extends Version>(
  ctx: PageContext,
  path: string,
  extra: ReadonlyArray<Column<V>> = [],
): PagedList {
  return pagedList<V>({
    caption: 'Versions',
    signal: ctx.signal,
    columns: [
      { header: 'Version', cell: (v) => String(v.version), className: 'num' },
      { header: 'Current', cell: (v) => (v.current ? badge('current', 'ok') : '') },
      ...extra,
      { header: 'Created', cell: (v) => time(v.createTime) },
      { header: 'Created by', cell: (v) => mono(v.createdBy) },
    ],
    fetchPage: (nextToken) => get<Page<V>>(`${path}/versions`, { nextToken, maxResults: 50 }),
    emptyText: 'No versions.',
  })
}

/** What a resource's page starts from: the resource, its path, its actions and its status toggle. */
export interface Detail<T> {
  item: T
  /** The resource's admin API path. */
  path: string
  actions: PageActions
  statusAction: HTMLButtonElement
}

/**
 * Fetch the resource a page shows (the route's `id` in the instance's `collection`) and set up
 * what its page does with it; `null` when the reader has left meanwhile. `render` is the page
 * itself, drawn again after each action; `toggle` names the resource and what disabling it stops.
 */
export async function loadDetail<T extends { status: string }>(
  ctx: PageContext,
  collection: string,
  render: (ctx: PageContext) => Promise<void>,
  toggle: (item: T) => { name: string; message: string },
): Promise<Detail<T> | null> {
  const path = inst(ctx.instanceId, collection, seg(ctx.params['id']!))
  const item = await get<T>(path)
  if (ctx.signal.aborted) return null
  const actions = pageActions(() => render(ctx))
  const statusAction = statusToggle({
    enabled: item.status === 'enabled',
    path,
    ...toggle(item),
    act: actions.act,
  })
  return { item, path, actions, statusAction }
}
