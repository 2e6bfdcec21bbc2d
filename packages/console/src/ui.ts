// Small components shared by the pages: fields, forms that show the server's error next to the
// field it names, confirmation dialogs, tables, empty states, one-time secrets.

import { ApiError } from './api.js'
import { type Child, h, replace, uid } from './dom.js'
import { visible, visibleChild, visibleString } from './visible-text.js'

// ---- text ------------------------------------------------------------------------------------

/** Epoch milliseconds as a `<time>` (`2026-12-07 01:00`, local time; the full date as its title); "—" for none. */
export function time(ms: number | null | undefined, seconds = false): Child {
  if (ms === null || ms === undefined) return '—'
  const date = new Date(ms)
  const pad = (n: number): string => String(n).padStart(2, '0')
  const short = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}${seconds ? `:${pad(date.getSeconds())}` : ''}`
  return h('time', { datetime: date.toISOString(), title: date.toString() }, short)
}

/** A status badge: enabled, disabled, revoked, active… */
export function badge(text: string, tone?: 'ok' | 'warn' | 'bad' | 'muted'): HTMLElement {
  return h('span', { class: `badge ${tone ?? toneOf(text)}` }, text)
}

function toneOf(text: string): string {
  if (text === 'enabled' || text === 'active' || text === 'success' || text === 'valid') return 'ok'
  if (text === 'disabled' || text === 'revoked' || text === 'failure' || text === 'denied') return 'bad'
  if (text === 'next' || text === 'expired') return 'warn'
  return 'muted'
}

/** Text a reader can copy: a monospaced id (an audit event's actor may be any text: see `visible`). */
export const mono = (text: string): HTMLElement => h('code', { class: 'mono' }, visible(text))

/** The message of any thrown value, never its stack. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof Error) return error.message
  return 'Something went wrong.'
}

// ---- layout ----------------------------------------------------------------------------------

/** A page's title row with optional actions on the right. */
export function pageHeader(title: string, ...actions: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'page-header' },
    h('h1', { id: 'page-title' }, visible(title)),
    h('div', { class: 'actions' }, actions),
  )
}

/** A titled section of a page. */
export function section(title: string, ...children: Child[]): HTMLElement {
  const id = uid('section')
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children)
}

/** What to do next when a list is empty. */
export function empty(...text: Child[]): HTMLElement {
  return h('p', { class: 'empty' }, text)
}

/** What an empty list says before anything is made: use the form above, or the CLI's `command`. */
export function noneYet(plural: string, command: string): Child {
  return [`No ${plural} yet. Create one with the form above or `, mono(command), '.']
}

/**
 * A `<dl>` of facts: `[['Status', badge('enabled')], …]`. Text values (a description, a name) are
 * shown with `visible`: no control or bidirectional character of theirs acts on the page.
 */
export function facts(rows: ReadonlyArray<readonly [string, Child]>): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    rows.map(([term, value]) => h('div', null, h('dt', null, term), h('dd', null, visibleChild(value)))),
  )
}

export interface Column<T> {
  header: string
  cell: (row: T) => Child
  /** Right-align (numbers) or shrink (actions). */
  className?: string
}

/**
 * A table with real headers; `caption` names it for screen readers and tests. Text a cell returns
 * is shown with `visible`, so a stored description or reason cannot reorder or hide what it shows.
 */
export function table<T>(
  caption: string,
  columns: ReadonlyArray<Column<T>>,
  rows: readonly T[],
  rowClass?: (row: T) => string | undefined,
): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          columns.map((c) => h('th', { scope: 'col', class: c.className }, c.header)),
        ),
      ),
      h(
        'tbody',
        null,
        // `data-label`: on a narrow screen each row becomes a card that names its cells (console.css).
        rows.map((row) =>
          h(
            'tr',
            { class: rowClass?.(row) },
            columns.map((c) =>
              h(
                'td',
                { class: c.className, 'data-label': c.header },
                h('div', { class: 'cell' }, visibleChild(c.cell(row))),
              ),
            ),
          ),
        ),
      ),
    ),
  )
}

/** A table of `rows`, or what to do next when there are none. */
export function tableOrEmpty<T>(
  caption: string,
  columns: ReadonlyArray<Column<T>>,
  rows: readonly T[],
  emptyText: Child,
): HTMLElement {
  return rows.length === 0 ? empty(emptyText) : table(caption, columns, rows)
}

/** A live region for a page's loading and failure messages. */
export function notice(kind: 'error' | 'info' | 'success', ...text: Child[]): HTMLElement {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text)
}

// ---- fields ----------------------------------------------------------------------------------

export interface FieldOptions {
  /** The API's name for it: an error naming this field is shown under it. */
  name: string
  type?: string
  required?: boolean
  value?: string
  placeholder?: string
  hint?: string
  autocomplete?: string
  /** Multi-line text. */
  multiline?: boolean
  rows?: number
  min?: number
  max?: number
  pattern?: string
  maxlength?: number
  /** A secret: never autofilled, never spell-checked. */
  secret?: boolean
}

/** A labelled input, textarea or select with room for its error below. */
export function field(label: string, options: FieldOptions): HTMLElement {
  const id = uid(`f-${options.name.replace(/[^A-Za-z0-9]/g, '-')}`)
  const hintId = options.hint ? `${id}-hint` : undefined
  const errorId = `${id}-error`
  const common = {
    id,
    name: options.name,
    required: options.required ?? false,
    placeholder: options.placeholder,
    'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
    'data-field': options.name,
    maxlength: options.maxlength,
    spellcheck: options.secret || options.multiline ? 'false' : undefined,
    autocomplete: options.secret ? 'off' : (options.autocomplete ?? 'off'),
  }
  const control = options.multiline
    ? h('textarea', { ...common, rows: options.rows ?? 4, value: options.value ?? '' })
    : h('input', {
        ...common,
        type: options.secret ? 'password' : (options.type ?? 'text'),
        // A one-line field starting with a stored name or description shows it as `visible`
        // does (an input can hold no mark): what is saved is then what the reader saw.
        value: options.secret ? (options.value ?? '') : visibleString(options.value ?? ''),
        min: options.min,
        max: options.max,
        pattern: options.pattern,
      })
  return h(
    'div',
    { class: 'field' },
    h(
      'div',
      { class: 'label-row' },
      h('label', { for: id }, label),
      // Outside the label, so the field's accessible name is the label alone.
      options.required ? h('span', { class: 'req', 'aria-hidden': 'true', title: 'required' }, '*') : null,
    ),
    control,
    options.hint ? h('small', { id: hintId, class: 'hint' }, options.hint) : null,
    h('small', { id: errorId, class: 'field-error', 'aria-live': 'polite' }),
  )
}

/** A labelled select. */
export function select(
  label: string,
  name: string,
  options: ReadonlyArray<readonly [value: string, text: string]>,
  extra: {
    value?: string | undefined
    hint?: string
    required?: boolean
    onchange?: (e: Event) => void
  } = {},
): HTMLElement {
  const id = uid(`f-${name.replace(/[^A-Za-z0-9]/g, '-')}`)
  const errorId = `${id}-error`
  const el = h(
    'select',
    {
      id,
      name,
      'data-field': name,
      required: extra.required ?? false,
      'aria-describedby': errorId,
      onchange: extra.onchange,
    },
    options.map(([value, text]) => h('option', { value, selected: value === extra.value }, text)),
  )
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    el,
    extra.hint ? h('small', { class: 'hint' }, extra.hint) : null,
    h('small', { id: errorId, class: 'field-error', 'aria-live': 'polite' }),
  )
}

/** A labelled checkbox. */
export function checkbox(label: string, name: string, checked = false, hint?: string): HTMLElement {
  const id = uid(`f-${name.replace(/[^A-Za-z0-9]/g, '-')}`)
  return h(
    'div',
    { class: 'field check' },
    h('input', { id, name, type: 'checkbox', checked, 'data-field': name }),
    h('label', { for: id }, label),
    hint ? h('small', { class: 'hint' }, hint) : null,
  )
}

/** The string value of a form's control, trimmed; `''` when absent. */
export function val(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name)
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement)
    return el.value.trim()
  return ''
}

/** A secret value as typed: never trimmed (spaces may be part of it). */
export function rawVal(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name)
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) return el.value
  return ''
}

export function checked(form: HTMLFormElement, name: string): boolean {
  const el = form.elements.namedItem(name)
  return el instanceof HTMLInputElement && el.checked
}

/** An optional integer field: `undefined` when empty; throws a field error when not an integer. */
export function intVal(form: HTMLFormElement, name: string, label: string): number | undefined {
  const text = val(form, name)
  if (text === '') return undefined
  if (!/^-?\d+$/.test(text))
    throw new ApiError(400, 'InvalidParameter', `${label} must be a whole number`, name)
  return Number(text)
}

/** Lines or commas of a text area, trimmed, empty ones dropped. */
export function listVal(form: HTMLFormElement, name: string): string[] {
  return val(form, name)
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** `{ [name]: value }` for each named field that is filled in, for a body's optional members. */
export function optional(form: HTMLFormElement, ...names: string[]): Record<string, string> {
  const body: Record<string, string> = {}
  for (const name of names) {
    const text = val(form, name)
    if (text !== '') body[name] = text
  }
  return body
}

// ---- forms -----------------------------------------------------------------------------------

/** Clear a form's errors. */
function clearErrors(form: HTMLFormElement, banner: HTMLElement): void {
  replace(banner)
  banner.hidden = true
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid')
  for (const el of form.querySelectorAll('.field-error')) replace(el)
}

/**
 * Show an error: under the field it names when the form has that field (`value.password` →
 * `password` too), in the form's banner otherwise. The message already names the field and rule.
 */
export function showFormError(form: HTMLFormElement, banner: HTMLElement, error: unknown): void {
  const message = messageOf(error)
  if (error instanceof ApiError && error.field) {
    // `audiences[1]` is the Audiences field; `value.apiKey` the API key field of a credential.
    const field = error.field.replace(/\[\d+\]$/, '')
    const names = [
      field,
      field.replace(/^(?:body|value|oauth|jwt|sshKey)\./, ''),
      field.split('.').pop() ?? '',
    ]
    for (const name of names) {
      const control = form.querySelector<HTMLElement>(`[data-field="${CSS.escape(name)}"]`)
      if (!control) continue
      control.setAttribute('aria-invalid', 'true')
      const errorEl = control.id ? form.querySelector(`#${CSS.escape(control.id)}-error`) : null
      if (errorEl) replace(errorEl, message)
      control.focus()
      if (errorEl) return
      break
    }
  }
  replace(banner, message)
  banner.hidden = false
}

export interface FormOptions {
  /** Names the form for assistive technology and tests (`aria-label`). */
  label: string
  submitLabel: string
  /** Runs on submit; a throw shows its message. Return a message to show as success. */
  onSubmit: (form: HTMLFormElement) => Promise<unknown>
  /** Extra classes: `inline` lays fields out in a row. */
  className?: string
  /** Reset the form after success (default true). */
  reset?: boolean
  danger?: boolean
}

/** A form with a submit button, an error banner at its top and a status line after a success. */
export function form(options: FormOptions, ...fields: Child[]): HTMLFormElement {
  const banner = h('p', { class: 'notice error', role: 'alert', hidden: true })
  const status = h('p', { class: 'form-status', role: 'status' })
  const button = h(
    'button',
    { type: 'submit', class: options.danger ? 'danger' : 'primary' },
    options.submitLabel,
  )
  const el = h(
    'form',
    { class: `form ${options.className ?? ''}`, 'aria-label': options.label, novalidate: true },
    banner,
    h('div', { class: 'fields' }, fields),
    h('div', { class: 'form-actions' }, button, status),
  )
  el.addEventListener('submit', (event) => {
    event.preventDefault()
    void (async () => {
      clearErrors(el, banner)
      replace(status)
      button.disabled = true
      el.setAttribute('aria-busy', 'true')
      try {
        const done = await options.onSubmit(el)
        if (options.reset !== false && el.isConnected) el.reset()
        if (typeof done === 'string') replace(status, done)
      } catch (error) {
        showFormError(el, banner, error)
      } finally {
        button.disabled = false
        el.removeAttribute('aria-busy')
      }
    })()
  })
  return el
}

/**
 * A list's filters in a row: `apply` reads them (keeping what it reads) and reloads the list.
 * The values stay in place after applying.
 */
export function filterForm(
  label: string,
  apply: (form: HTMLFormElement) => Promise<unknown>,
  ...fields: Child[]
): HTMLFormElement {
  return form(
    { label, submitLabel: 'Apply filters', className: 'inline', reset: false, onSubmit: apply },
    ...fields,
  )
}

/** A form editing what a page shows: its fields start with the current values and keep them. */
export function editForm(
  label: string,
  save: (form: HTMLFormElement) => Promise<unknown>,
  ...fields: Child[]
): HTMLFormElement {
  return form({ label, submitLabel: 'Save changes', reset: false, onSubmit: save }, ...fields)
}

// ---- buttons and dialogs ---------------------------------------------------------------------

/** A plain button running `action`; while it runs the button is disabled. */
export function button(
  label: string,
  action: (event: MouseEvent) => unknown,
  options: { kind?: 'primary' | 'danger' | 'ghost'; title?: string; ariaLabel?: string | undefined } = {},
): HTMLButtonElement {
  const el = h(
    'button',
    {
      type: 'button',
      class: options.kind ?? '',
      title: options.title === undefined ? undefined : visibleString(options.title),
      'aria-label': options.ariaLabel === undefined ? undefined : visibleString(options.ariaLabel),
    },
    label,
  )
  el.addEventListener('click', (event) => {
    void (async () => {
      el.disabled = true
      try {
        await action(event)
      } finally {
        el.disabled = false
      }
    })()
  })
  return el
}

export interface ConfirmOptions {
  title: string
  message: Child
  /** The confirming button's label: the action's verb ("Revoke", "Delete", "Disable", "Rotate"). */
  confirmLabel: string
  /** Extra controls (a checkbox) whose state the caller reads from the returned form. */
  extra?: Child
}

/**
 * Ask before a destructive action, in a modal `<dialog>` (the page behind is inert, focus stays
 * inside, Escape cancels). Resolves with the dialog's form when confirmed, `null` when cancelled.
 */
export function confirmAction(options: ConfirmOptions): Promise<HTMLFormElement | null> {
  return new Promise((resolve) => {
    const titleId = uid('dialog-title')
    const cancel = h('button', { type: 'button', value: 'cancel' }, 'Cancel')
    const confirm = h('button', { type: 'submit', class: 'danger', value: 'confirm' }, options.confirmLabel)
    const body = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: titleId }, visible(options.title)),
      h('div', { class: 'dialog-message' }, visibleChild(options.message)),
      options.extra ?? null,
      h('div', { class: 'form-actions' }, cancel, confirm),
    )
    const dialog = h('dialog', { 'aria-labelledby': titleId, class: 'confirm' }, body)
    let result: HTMLFormElement | null = null
    cancel.addEventListener('click', () => dialog.close())
    body.addEventListener('submit', () => {
      result = body
    })
    dialog.addEventListener('close', () => {
      dialog.remove()
      resolve(result)
    })
    document.body.appendChild(dialog)
    dialog.showModal()
    cancel.focus()
  })
}

/**
 * A danger button that asks first (the dialog confirms with the button's own verb unless
 * `confirmLabel` says otherwise); `run` gets the confirmed dialog's form.
 */
export function confirmButton(
  label: string,
  confirm: Omit<ConfirmOptions, 'confirmLabel'> & { confirmLabel?: string },
  run: (dialog: HTMLFormElement) => unknown,
  ariaLabel?: string,
): HTMLButtonElement {
  return button(
    label,
    async () => {
      const dialog = await confirmAction({ confirmLabel: label, ...confirm })
      if (dialog) await run(dialog)
    },
    { kind: 'danger', ariaLabel },
  )
}

/** Ask before a rotation; a "no" stops the form with a message that nothing changed. */
export async function confirmRotation(title: string, message: string): Promise<void> {
  const ok = await confirmAction({ title, message, confirmLabel: 'Rotate' })
  if (!ok) throw new ApiError(0, 'Cancelled', 'Rotation cancelled: nothing changed.')
}

/** Run `fn`; a failure is shown in `slot` (in place of what it held). */
export async function reportTo(slot: HTMLElement, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn()
  } catch (error) {
    replace(slot, notice('error', messageOf(error)))
  }
}

/** Whether a Copy button put a secret on the clipboard that has not been cleared since. */
let secretOnClipboard = false

/**
 * Clears the clipboard if a Copy button put a secret there: when the value is hidden, its page
 * left, or the session ended. Unconditionally (reading the clipboard first would ask the admin
 * for a permission), so something copied since is cleared too; best effort, as a browser may
 * refuse a write from a page without focus.
 */
export function clearCopiedSecret(): void {
  if (!secretOnClipboard) return
  secretOnClipboard = false
  navigator.clipboard?.writeText('').catch(() => {})
}

/** Copy a secret to the clipboard, saying so on the button; `clearCopiedSecret` takes it off. */
export function copyButton(getText: () => string, label = 'Copy'): HTMLButtonElement {
  const el = h('button', { type: 'button', class: 'ghost copy' }, label)
  el.addEventListener('click', () => {
    void navigator.clipboard.writeText(getText()).then(
      () => {
        secretOnClipboard = true
        el.textContent = 'Copied'
        setTimeout(() => {
          el.textContent = label
        }, 2000)
      },
      () => {
        el.textContent = 'Copy failed: select the text'
      },
    )
  })
  return el
}

/** How to take each one-time secret still on the page off it. */
const shownOnce = new Set<() => void>()

/**
 * Takes every secret off the page: each one-time secret (as its "Done" does), then any element
 * still marked as holding a secret (`data-secret`, a revealed value). For when the page is put
 * away (`pagehide`): a page kept in the back/forward cache must not come back holding one.
 */
export function dropShownSecrets(): void {
  for (const drop of [...shownOnce]) drop()
  for (const el of document.querySelectorAll('.one-time, .revealed, [data-secret]')) el.remove()
  clearCopiedSecret()
}

/**
 * A secret shown once (a new client secret or admin token): the value with a Copy button and a
 * "Done" button that removes it from the page for good. Nothing else keeps it. Leaving the page,
 * or the browser putting it away (`dropShownSecrets`), removes it too.
 */
export function oneTimeSecret(title: string, value: string): HTMLElement {
  let secret: string | null = value
  const drop = (): void => {
    secret = null
    shownOnce.delete(drop)
    box.remove()
  }
  const id = uid('secret')
  const box: HTMLElement = h(
    'div',
    { class: 'one-time', role: 'region', 'aria-labelledby': id },
    h('h3', { id }, title),
    h('p', null, 'Copy it now: strongroom shows it only this once and keeps only a hash of it.'),
    h(
      'div',
      { class: 'secret-row' },
      h('code', { class: 'secret-value', 'data-secret': '' }, value),
      copyButton(() => secret ?? ''),
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          drop()
          clearCopiedSecret()
        },
      },
      'Done',
    ),
  )
  shownOnce.add(drop)
  return box
}
