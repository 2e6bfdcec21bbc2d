// A list fetched page by page (keyset `nextToken`), with a text filter over what is loaded and a
// "Load more" button while the server has more; and a region fetched at once (a short list).

import { type Child, h, replace, uid } from './dom.js'
import { type Column, empty, messageOf, notice, table } from './ui.js'

export interface Page<T> {
  entities: T[]
  nextToken?: string | null
}

export interface ListOptions<T> {
  /** The table's accessible name ("Credentials"). */
  caption: string
  columns: ReadonlyArray<Column<T>>
  /** Fetch one page; `nextToken` null for the first. */
  fetchPage: (nextToken: string | null) => Promise<Page<T>>
  /** Shown when the server has none (with the current server-side filters). */
  emptyText: Child
  /** Text the filter box matches against; no filter box without it. */
  filterText?: (item: T) => string
  filterLabel?: string
  signal?: AbortSignal
}

export interface PagedList {
  element: HTMLElement
  /** Fetch again from the first page (after a change, or with new server-side filters). */
  reload(): Promise<void>
}

export function pagedList<T>(options: ListOptions<T>): PagedList {
  let items: T[] = []
  let nextToken: string | null = null
  let generation = 0
  const body = h('div', { class: 'list-body', 'aria-live': 'polite' })
  const more = h('button', { type: 'button', class: 'ghost', hidden: true }, 'Load more')
  const filterId = uid('filter')
  const filterInput = options.filterText
    ? h('input', { id: filterId, type: 'search', autocomplete: 'off', placeholder: 'Type to filter' })
    : null

  const draw = (): void => {
    const query = filterInput?.value.trim().toLowerCase() ?? ''
    const shown =
      query && options.filterText
        ? items.filter((i) => options.filterText!(i).toLowerCase().includes(query))
        : items
    if (items.length === 0) replace(body, empty(options.emptyText))
    else if (shown.length === 0)
      replace(
        body,
        empty(`Nothing loaded matches “${query}”.`, nextToken ? ' Load more to search further.' : ''),
      )
    else replace(body, table(options.caption, options.columns, shown))
    more.hidden = nextToken === null
  }

  const load = async (reset: boolean): Promise<void> => {
    const mine = ++generation
    // The first time "Loading…"; on a reload the old rows stay, marked busy, until the new ones
    // replace them: no flash of an empty list.
    if (reset && !body.hasChildNodes()) replace(body, h('p', { class: 'loading' }, 'Loading…'))
    body.setAttribute('aria-busy', 'true')
    try {
      const page = await options.fetchPage(reset ? null : nextToken)
      if (mine !== generation || options.signal?.aborted) return
      body.removeAttribute('aria-busy')
      items = reset ? page.entities : items.concat(page.entities)
      nextToken = page.nextToken ?? null
      draw()
    } catch (error) {
      if (mine !== generation) return
      body.removeAttribute('aria-busy')
      replace(body, notice('error', messageOf(error)))
    }
  }

  more.addEventListener('click', () => void load(false))
  filterInput?.addEventListener('input', draw)
  const element = h(
    'div',
    { class: 'paged-list' },
    filterInput
      ? h(
          'div',
          { class: 'field filter' },
          h('label', { for: filterId }, options.filterLabel ?? 'Filter'),
          filterInput,
        )
      : null,
    body,
    more,
  )
  void load(true)
  return { element, reload: () => load(true) }
}

export interface LoadedOptions<T> {
  /** Fetch what the region shows, whole. */
  fetch: () => Promise<T>
  render: (value: T) => Child
  signal: AbortSignal
  /** Announce the region's changes to screen readers. */
  live?: boolean
}

export interface Loaded {
  element: HTMLElement
  /** The first fetch, started at once; settles when it is drawn (failures included). */
  loading: Promise<void>
  /** Fetch and draw again (after a change). */
  reload(): Promise<void>
}

/** A region that says "Loading…" until its fetch is drawn, or why the fetch failed. */
export function loaded<T>(options: LoadedOptions<T>): Loaded {
  const element = h(
    'div',
    options.live ? { 'aria-live': 'polite' } : null,
    h('p', { class: 'loading' }, 'Loading…'),
  )
  const reload = async (): Promise<void> => {
    try {
      const value = await options.fetch()
      if (options.signal.aborted) return
      replace(element, options.render(value))
    } catch (error) {
      if (!options.signal.aborted) replace(element, notice('error', messageOf(error)))
    }
  }
  return { element, loading: reload(), reload }
}
