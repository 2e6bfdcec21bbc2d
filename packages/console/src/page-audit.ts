// Audit: the chain's verification state (the first broken link, prominently), filters, and a
// live tail that polls for newer events every 2 seconds while "Live" is on.

import type { AuditEvent, AuditEventPage, AuditVerifyResult } from '@strongroom/protocol'
import { ApiError, get, inst, type Query } from './api.js'
import type { PageContext } from './context.js'
import { h, replace } from './dom.js'
import {
  badge,
  button,
  empty,
  field,
  filterForm,
  messageOf,
  mono,
  notice,
  pageHeader,
  section,
  select,
  table,
  time,
  val,
} from './ui.js'
import { visible } from './visible-text.js'

/** How often the live tail asks for newer events. */
export const LIVE_POLL_MS = 2000
/**
 * The live tail pauses after this long: each poll is a use of the session, and a console left
 * open with Live on must not keep an administrator's session alive forever.
 */
export const LIVE_MAX_MS = 15 * 60 * 1000
const PAGE_SIZE = 50

function verifyBanner(result: AuditVerifyResult): HTMLElement {
  if (result.ok) {
    return h(
      'div',
      { class: 'chain ok', role: 'status' },
      h('strong', null, 'Chain verified.'),
      ` ${result.checked} events checked; head is event ${result.headSeq}.`,
      result.anchor ? ` Verified from the archive anchor at event ${result.anchor.seq}.` : '',
    )
  }
  return h(
    'div',
    { class: 'chain broken', role: 'alert' },
    h('strong', null, `Chain broken at event ${result.firstBrokenSeq ?? '?'}.`),
    h('p', null, visible(result.problem ?? 'The recomputed hashes do not match.')),
    h(
      'p',
      null,
      `Events up to ${result.headSeq} verify (${result.checked} checked). Treat everything from event ${result.firstBrokenSeq ?? '?'} on as suspect.`,
    ),
  )
}

/**
 * An event's details and request facts, folded: a summary line, the rest on demand. Every key and
 * value goes through `visible`: a user agent or a planted client id is anyone's text.
 */
function detailsCell(event: AuditEvent): HTMLElement {
  const rows: Array<readonly [string, string]> = Object.entries(event.details).map(([k, v]) => [
    k,
    v === null ? '' : String(v),
  ])
  if (event.requestId) rows.push(['requestId', event.requestId])
  if (event.sourceIp) rows.push(['sourceIp', event.sourceIp])
  if (event.userAgent) rows.push(['userAgent', event.userAgent])
  rows.push(['hash', event.hash])
  return h(
    'details',
    { class: 'details' },
    h('summary', null, `${Object.keys(event.details).length} details`),
    h(
      'dl',
      null,
      rows.map(([k, v]) => h('div', null, h('dt', null, visible(k)), h('dd', null, visible(v)))),
    ),
  )
}

/** epoch ms of a `datetime-local` value, named as the field in errors. */
function timeVal(f: HTMLFormElement, name: string, label: string): number | undefined {
  const text = val(f, name)
  if (text === '') return undefined
  const ms = new Date(text).getTime()
  if (Number.isNaN(ms)) throw new ApiError(400, 'InvalidParameter', `${label} must be a date and time`, name)
  return ms
}

export async function auditPage(ctx: PageContext): Promise<void> {
  const base = inst(ctx.instanceId, 'audit')
  let filters: Query = {}
  let events: AuditEvent[] = []
  let nextToken: string | null = null
  let newestSeq = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  let live = false
  let liveSince = 0
  let generation = 0
  let brokenSeq: number | null = null

  const chain = h(
    'div',
    { class: 'chain-slot', 'aria-live': 'polite' },
    h('p', { class: 'loading' }, 'Verifying the chain…'),
  )
  const verify = async (): Promise<void> => {
    try {
      const result = await get<AuditVerifyResult>(`${base}/verify`)
      if (ctx.signal.aborted) return
      replace(chain, verifyBanner(result))
      brokenSeq = result.ok ? null : result.firstBrokenSeq
      if (events.length > 0) draw()
    } catch (error) {
      if (!ctx.signal.aborted)
        replace(chain, notice('error', `Could not verify the chain: ${messageOf(error)}`))
    }
  }

  const body = h('div', { class: 'list-body' })
  const more = h('button', { type: 'button', class: 'ghost', hidden: true }, 'Load older events')
  const liveStatus = h('span', { class: 'live-status', role: 'status' })
  const draw = (): void => {
    more.hidden = nextToken === null
    if (events.length === 0) {
      replace(body, empty('No events match these filters.'))
      return
    }
    replace(
      body,
      table<AuditEvent>(
        'Audit events',
        [
          {
            header: 'Seq',
            cell: (e) =>
              e.seq === brokenSeq ? [String(e.seq), ' ', badge('broken link', 'bad')] : String(e.seq),
            className: 'num',
          },
          { header: 'Time', cell: (e) => time(e.time, true) },
          { header: 'Action', cell: (e) => mono(e.action), className: 'nowrap' },
          { header: 'Outcome', cell: (e) => badge(e.outcome) },
          {
            header: 'Actor',
            cell: (e) => [h('small', { class: 'muted' }, visible(e.actorType), ' '), mono(e.actorId)],
          },
          {
            header: 'Resource',
            cell: (e) =>
              e.resourceId
                ? [h('small', { class: 'muted' }, visible(e.resourceType ?? ''), ' '), mono(e.resourceId)]
                : '—',
          },
          { header: 'Reason', cell: (e) => visible(e.reason ?? '') },
          { header: 'Details', cell: detailsCell },
        ],
        events,
        // From the first broken link on, nothing in the chain can be trusted.
        (e) => (brokenSeq !== null && e.seq >= brokenSeq ? 'suspect' : undefined),
      ),
    )
  }

  let loading: Promise<void> = Promise.resolve()
  const loadFirst = (): Promise<void> => {
    loading = loadNewest()
    return loading
  }
  const loadNewest = async (): Promise<void> => {
    const mine = ++generation
    // The first time "Loading…"; later (new filters) the old rows stay, marked busy, until the
    // new ones replace them: no flash of an empty table.
    if (!body.hasChildNodes()) replace(body, h('p', { class: 'loading' }, 'Loading…'))
    body.setAttribute('aria-busy', 'true')
    try {
      const page = await get<AuditEventPage>(`${base}/events`, {
        ...filters,
        order: 'desc',
        maxResults: PAGE_SIZE,
      })
      if (mine !== generation || ctx.signal.aborted) return
      body.removeAttribute('aria-busy')
      events = page.entities
      nextToken = page.nextToken
      newestSeq = events[0]?.seq ?? 0
      draw()
    } catch (error) {
      if (mine !== generation) return
      body.removeAttribute('aria-busy')
      replace(body, notice('error', messageOf(error)))
    }
  }
  more.addEventListener('click', () => {
    void (async () => {
      try {
        const page = await get<AuditEventPage>(`${base}/events`, {
          ...filters,
          order: 'desc',
          maxResults: PAGE_SIZE,
          nextToken,
        })
        events = events.concat(page.entities)
        nextToken = page.nextToken
        draw()
      } catch (error) {
        replace(liveStatus, messageOf(error))
      }
    })()
  })

  /** One poll: newer events first, newest on top; then the next poll in 2 s while live. */
  const poll = async (): Promise<void> => {
    timer = null
    // The first page sets where the tail starts: wait for it, or the tail would fetch it twice.
    await loading
    const mine = generation
    try {
      const fresh: AuditEvent[] = []
      let token: string | null = null
      do {
        const page: AuditEventPage = await get<AuditEventPage>(`${base}/events`, {
          ...filters,
          order: 'asc',
          afterSeq: newestSeq,
          maxResults: 200,
          nextToken: token,
        })
        fresh.push(...page.entities)
        token = page.nextToken
      } while (token !== null && fresh.length < 1000)
      if (!live || mine !== generation || ctx.signal.aborted) return
      const newer = fresh.filter((e) => e.seq > newestSeq)
      if (newer.length > 0) {
        newestSeq = newer[newer.length - 1]!.seq
        events = newer.reverse().concat(events)
        draw()
      }
      replace(
        liveStatus,
        `Live: checked at ${new Date().toLocaleTimeString()}${newer.length ? `, ${newer.length} new` : ''}.`,
      )
    } catch (error) {
      if (!live || ctx.signal.aborted) return
      replace(liveStatus, `Live: ${messageOf(error)} Retrying.`)
    }
    if (!live || ctx.signal.aborted) return
    if (Date.now() - liveSince >= LIVE_MAX_MS) {
      stopLive()
      liveButton.setAttribute('aria-pressed', 'false')
      replace(
        liveStatus,
        'Live tail paused after 15 minutes, so an unattended console does not keep its session open. Press Live to resume.',
      )
      return
    }
    timer = setTimeout(() => void poll(), LIVE_POLL_MS)
  }
  const liveButton = h('button', { type: 'button', class: 'toggle', 'aria-pressed': 'false' }, 'Live')
  const stopLive = (): void => {
    live = false
    if (timer !== null) clearTimeout(timer)
    timer = null
  }
  ctx.onLeave(stopLive)

  liveButton.addEventListener('click', () => {
    if (live) {
      stopLive()
      liveButton.setAttribute('aria-pressed', 'false')
      replace(liveStatus, 'Live tail off.')
    } else {
      live = true
      liveSince = Date.now()
      liveButton.setAttribute('aria-pressed', 'true')
      replace(liveStatus, 'Live: polling every 2 seconds.')
      void poll()
    }
  })

  const filterFields = filterForm(
    'Audit filters',
    async (f) => {
      const from = timeVal(f, 'from', 'From')
      const to = timeVal(f, 'to', 'To')
      filters = {
        action: val(f, 'action'),
        actorId: val(f, 'actorId'),
        resourceType: val(f, 'resourceType'),
        resourceId: val(f, 'resourceId'),
        outcome: val(f, 'outcome'),
        from,
        to,
      }
      await loadFirst()
    },
    field('Action', { name: 'action', placeholder: 'credential.reveal' }),
    field('Actor', { name: 'actorId', placeholder: 'atk_… or app_…' }),
    field('Resource type', { name: 'resourceType', placeholder: 'credential' }),
    field('Resource', { name: 'resourceId', placeholder: 'cred_…' }),
    select('Outcome', 'outcome', [
      ['', 'Any outcome'],
      ['success', 'success'],
      ['failure', 'failure'],
      ['denied', 'denied'],
    ]),
    field('From', { name: 'from', type: 'datetime-local' }),
    field('To', { name: 'to', type: 'datetime-local' }),
  )

  replace(
    ctx.main,
    pageHeader(ctx.instanceId === 'system' ? 'System audit' : 'Audit', button('Verify chain', verify)),
    section('Chain verification', chain),
    section('Events', filterFields, h('div', { class: 'live-row' }, liveButton, liveStatus), body, more),
  )
  await Promise.all([verify(), loadFirst()])
}
