// Credentials: list, create, and a credential's page (reveal with a reason, rotate, versions,
// enable/disable, and who can read it).

import type {
  Credential,
  CredentialPage,
  CredentialType,
  CredentialVersion,
  RevealedCredential,
} from '@strongroom/protocol'
import { ApiError, get, inst, patch, post } from './api.js'
import type { PageContext } from './context.js'
import { loadDetail, versionsList } from './detail.js'
import { h, replace } from './dom.js'
import { pagedList } from './list.js'
import { readersSection } from './readers.js'
import { href, navigate } from './router.js'
import {
  badge,
  clearCopiedSecret,
  confirmRotation,
  copyButton,
  editForm,
  facts,
  field,
  filterForm,
  form,
  mono,
  noneYet,
  optional,
  pageHeader,
  rawVal,
  section,
  select,
  time,
  val,
} from './ui.js'

const TYPES: ReadonlyArray<readonly [CredentialType, string]> = [
  ['api_key', 'API key'],
  ['password', 'Password'],
  ['oauth_client', 'OAuth client'],
  ['ssh_key', 'SSH key'],
]
const typeLabel = (t: string): string => TYPES.find(([v]) => v === t)?.[1] ?? t

/** How long a revealed value stays on the page. */
export const REVEAL_SECONDS = 30

/** The value fields of a credential type; `prefix` keeps ids apart when two forms are on a page. */
function valueFields(type: CredentialType): HTMLElement[] {
  switch (type) {
    case 'api_key':
      return [field('API key', { name: 'apiKey', secret: true, required: true })]
    case 'password':
      return [
        field('Username', { name: 'username', hint: 'Optional.' }),
        field('Password', { name: 'password', secret: true, required: true }),
      ]
    case 'oauth_client':
      return [
        field('Client ID', { name: 'clientId', required: true }),
        field('Client secret', { name: 'clientSecret', secret: true, required: true }),
      ]
    case 'ssh_key':
      return [
        field('Private key', { name: 'privateKey', multiline: true, rows: 5, secret: true, required: true }),
        field('Passphrase', { name: 'passphrase', secret: true, hint: 'Only if the key is encrypted.' }),
        field('Public key', { name: 'publicKey', multiline: true, rows: 2, hint: 'Optional.' }),
      ]
  }
}

/** The `value` object of a credential type from a form; a missing required part names its field. */
function credentialValueOf(type: CredentialType, f: HTMLFormElement): Record<string, string> {
  const need = (name: string, label: string): string => {
    const v = rawVal(f, name)
    if (v.trim() === '') throw new ApiError(400, 'InvalidParameter', `${label} is required`, name)
    return v
  }
  const optional = (name: string): Record<string, string> => {
    const v = rawVal(f, name)
    return v.trim() === '' ? {} : { [name]: v }
  }
  switch (type) {
    case 'api_key':
      return { apiKey: need('apiKey', 'API key') }
    case 'password':
      return { password: need('password', 'Password'), ...optional('username') }
    case 'oauth_client':
      return {
        clientId: need('clientId', 'Client ID').trim(),
        clientSecret: need('clientSecret', 'Client secret'),
      }
    case 'ssh_key':
      return {
        privateKey: need('privateKey', 'Private key'),
        ...optional('passphrase'),
        ...optional('publicKey'),
      }
  }
}

/** A slot whose value fields follow a type select. */
function typedValueFields(initial: CredentialType): {
  element: HTMLElement
  setType(t: CredentialType): void
} {
  const element = h('div', { class: 'value-fields fields' }, valueFields(initial))
  return { element, setType: (t) => replace(element, valueFields(t)) }
}

export async function credentialsPage(ctx: PageContext): Promise<void> {
  const { instanceId } = ctx
  const base = inst(instanceId, 'credentials')
  let filterType = ''
  let filterPrefix = ''

  const list = pagedList<Credential>({
    caption: 'Credentials',
    signal: ctx.signal,
    columns: [
      {
        header: 'Identifier',
        cell: (c) =>
          h('a', { href: href('i', instanceId, 'credentials', c.credentialId) }, c.credentialIdentifier),
      },
      { header: 'Name', cell: (c) => c.credentialName },
      { header: 'Type', cell: (c) => typeLabel(c.credentialType) },
      { header: 'Status', cell: (c) => badge(c.status) },
      { header: 'Version', cell: (c) => String(c.currentVersion), className: 'num' },
      { header: 'Updated', cell: (c) => time(c.updateTime) },
    ],
    fetchPage: (nextToken) =>
      get<CredentialPage>(base, {
        nextToken,
        maxResults: 50,
        credentialType: filterType,
        identifierPrefix: filterPrefix,
      }),
    emptyText:
      filterType || filterPrefix
        ? 'No credentials match these filters.'
        : noneYet('credentials', 'strongroom credential create'),
    filterText: (c) => `${c.credentialIdentifier} ${c.credentialName} ${c.description}`,
    filterLabel: 'Filter loaded credentials',
  })

  const filters = filterForm(
    'Credential filters',
    async (f) => {
      filterType = val(f, 'credentialType')
      filterPrefix = val(f, 'identifierPrefix')
      await list.reload()
    },
    field('Filter by identifier prefix', { name: 'identifierPrefix', placeholder: 'team/' }),
    select('Filter by type', 'credentialType', [['', 'Any type'], ...TYPES]),
  )

  const value = typedValueFields('api_key')
  const create = form(
    {
      label: 'Create credential',
      submitLabel: 'Create credential',
      onSubmit: async (f) => {
        const type = val(f, 'credentialType') as CredentialType
        const body = {
          credentialIdentifier: val(f, 'credentialIdentifier'),
          credentialType: type,
          value: credentialValueOf(type, f),
          ...optional(f, 'credentialName', 'description'),
        }
        const created = await post<Credential>(base, body)
        navigate(href('i', instanceId, 'credentials', created.credentialId))
      },
    },
    field('Identifier', {
      name: 'credentialIdentifier',
      required: true,
      placeholder: 'team/db/password',
      hint: 'Segments of letters, digits and ._:- separated by slashes. Workloads ask for it by this name.',
    }),
    field('Name', { name: 'credentialName', hint: 'Optional: defaults to the identifier.' }),
    select('Type', 'credentialType', TYPES, {
      value: 'api_key',
      onchange: (e) => value.setType((e.target as HTMLSelectElement).value as CredentialType),
    }),
    field('Description', { name: 'description' }),
    value.element,
  )

  replace(
    ctx.main,
    pageHeader('Credentials'),
    section('Create a credential', create),
    section('All credentials', filters, list.element),
  )
}

export async function credentialPage(ctx: PageContext): Promise<void> {
  const detail = await loadDetail<Credential>(ctx, 'credentials', credentialPage, (c) => ({
    name: c.credentialIdentifier,
    message: 'Workloads can no longer obtain it until it is enabled again.',
  }))
  if (!detail) return
  const { item: credential, path, actions, statusAction } = detail
  const versions = versionsList<CredentialVersion>(ctx, path)

  const rotateValue = typedValueFields(credential.credentialType)
  const rotate = form(
    {
      label: 'Rotate credential',
      submitLabel: 'Rotate',
      danger: true,
      onSubmit: async (f) => {
        const value = credentialValueOf(credential.credentialType, f)
        await confirmRotation(
          `Rotate ${credential.credentialIdentifier}?`,
          `Version ${credential.currentVersion + 1} becomes current: workloads obtain the new value from now on.`,
        )
        await post<Credential>(`${path}/versions`, { value })
        f.reset()
        await credentialPage(ctx)
      },
    },
    rotateValue.element,
  )

  const edit = editForm(
    'Edit credential',
    async (f) => {
      await patch<Credential>(path, {
        credentialName: val(f, 'credentialName'),
        description: val(f, 'description'),
      })
      await credentialPage(ctx)
    },
    field('Name', { name: 'credentialName', value: credential.credentialName, required: true }),
    field('Description', { name: 'description', value: credential.description }),
  )

  replace(
    ctx.main,
    pageHeader(credential.credentialIdentifier, statusAction),
    actions.element,
    facts([
      ['Name', credential.credentialName],
      ['Credential ID', mono(credential.credentialId)],
      ['Type', typeLabel(credential.credentialType)],
      ['Status', badge(credential.status)],
      ['Current version', String(credential.currentVersion)],
      ['Description', credential.description || '—'],
      ['Created', time(credential.createTime)],
      ['Updated', time(credential.updateTime)],
    ]),
    section('Reveal the current value', revealPanel(ctx, path)),
    readersSection(ctx, path, 'credential'),
    section('Rotate', h('p', null, 'Store a new value; it becomes the current version.'), rotate),
    section('Versions', versions.element),
    section('Edit', edit),
  )
}

/**
 * Reveal: the value is fetched only when asked, with a reason the server audits, shown for
 * `REVEAL_SECONDS`, then removed from the DOM (not hidden) and every reference to it dropped.
 */
function revealPanel(ctx: PageContext, path: string): HTMLElement {
  const slot = h('div', { class: 'reveal-slot' })
  let timer: ReturnType<typeof setInterval> | null = null
  let shown: HTMLElement | null = null

  const hide = (): void => {
    if (timer !== null) clearInterval(timer)
    timer = null
    shown?.remove()
    shown = null
    replace(slot)
    clearCopiedSecret()
  }
  ctx.onLeave(hide)
  ctx.signal.addEventListener('abort', hide)

  const reveal = form(
    {
      label: 'Reveal credential',
      submitLabel: 'Reveal',
      onSubmit: async (f) => {
        const reason = val(f, 'reason')
        if (reason === '')
          throw new ApiError(
            400,
            'InvalidParameter',
            'Reason is required: say why you need the value (it is audited)',
            'reason',
          )
        hide()
        const revealed = await post<RevealedCredential>(`${path}/reveal`, { reason })
        if (ctx.signal.aborted) return
        let left = REVEAL_SECONDS
        const countdown = h('span', { class: 'countdown', 'aria-live': 'off' }, `Hidden in ${left} s`)
        const rows = Object.entries(revealed.value).map(([key, v]) => {
          const text = typeof v === 'string' ? v : JSON.stringify(v)
          return h(
            'div',
            { class: 'secret-row' },
            h('span', { class: 'secret-key' }, key),
            h('code', { class: 'secret-value', 'data-secret': '' }, text),
            copyButton(() => (shown ? text : '')),
          )
        })
        const hideButton = h('button', { type: 'button', onclick: hide }, 'Hide')
        shown = h(
          'div',
          { class: 'revealed', role: 'region', 'aria-label': 'Revealed value' },
          h('p', null, `Version ${revealed.version}. `, countdown),
          rows,
          hideButton,
        )
        replace(slot, shown)
        hideButton.focus()
        timer = setInterval(() => {
          left -= 1
          if (left <= 0) hide()
          else countdown.textContent = `Hidden in ${left} s`
        }, 1000)
      },
    },
    field('Reason', {
      name: 'reason',
      required: true,
      maxlength: 512,
      hint: 'Recorded in the audit log with your admin token.',
    }),
  )
  return h(
    'div',
    null,
    h(
      'p',
      null,
      `The value stays hidden until you ask; it is removed from the page after ${REVEAL_SECONDS} seconds or when you press Hide.`,
    ),
    reveal,
    slot,
  )
}
