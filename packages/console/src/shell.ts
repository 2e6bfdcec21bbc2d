// The frame around every page: the top bar (who is signed in, sign-out, the narrow-screen menu
// button) and the navigation with the instance picker. Its size is reserved in console.css before
// any script runs, so nothing moves on load.

import type { Instance } from '@strongroom/protocol'
import type { ConsoleSession } from './api.js'
import { h, replace, uid } from './dom.js'
import { href, navigate } from './router.js'
import { visible, visibleString } from './visible-text.js'

/** The sections of an instance, in navigation order: [route name, path segment, label]. */
export const INSTANCE_SECTIONS = [
  ['credentials', 'credentials', 'Credentials'],
  ['accounts', 'accounts', 'Accounts'],
  ['applications', 'applications', 'Applications'],
  ['grants', 'grants', 'Grants'],
  ['providers', 'providers', 'Credential providers'],
  ['cloud-accounts', 'cloud-accounts', 'Cloud accounts'],
  ['signing-keys', 'signing-keys', 'Signing keys'],
  ['audit', 'audit', 'Audit'],
] as const

const GLOBAL_SECTIONS = [
  ['instances', 'instances', 'Instances'],
  ['admin-tokens', 'admin-tokens', 'Admin tokens'],
] as const

/** Which navigation entry a route belongs to (`credential` → `credentials`). */
const SECTION_OF: Record<string, string> = {
  credential: 'credentials',
  account: 'accounts',
  application: 'applications',
  provider: 'providers',
  'cloud-account': 'cloud-accounts',
}

export interface ShellState {
  session: ConsoleSession
  instances: readonly Instance[]
  instanceId: string
  routeName: string
  onSignOut: () => void
}

/** The top bar's tools and the navigation, for a signed-in reader. */
export function renderShell(state: ShellState): void {
  const tools = document.getElementById('topbar-tools')!
  const nav = document.getElementById('nav')!
  const menu = h(
    'button',
    { type: 'button', class: 'menu-toggle ghost', 'aria-controls': 'nav', 'aria-expanded': 'false' },
    'Menu',
  )
  menu.addEventListener('click', () => {
    const open = nav.classList.toggle('open')
    menu.setAttribute('aria-expanded', String(open))
    if (open) nav.querySelector<HTMLElement>('a[aria-current="page"], a')?.focus()
  })
  nav.onkeydown = (event) => {
    if (event.key !== 'Escape' || !nav.classList.contains('open')) return
    nav.classList.remove('open')
    menu.setAttribute('aria-expanded', 'false')
    menu.focus()
  }
  const scope = state.session.instanceScope === null ? 'operator' : 'instance admin'
  replace(
    tools,
    menu,
    h(
      'span',
      { class: 'who' },
      h('span', { class: 'who-name' }, visible(state.session.adminTokenName)),
      h('span', { class: 'who-scope' }, ` (${scope})`),
    ),
    h('button', { type: 'button', class: 'ghost', onclick: state.onSignOut }, 'Sign out'),
  )

  const current = SECTION_OF[state.routeName] ?? state.routeName
  const link = (name: string, url: string, label: string): HTMLElement =>
    h('li', null, h('a', { href: url, 'aria-current': name === current ? 'page' : undefined }, label))

  const pickerId = uid('instance')
  const picker = h(
    'select',
    { id: pickerId, disabled: state.instances.length < 2 },
    state.instances.map((i) =>
      h(
        'option',
        { value: i.instanceId, selected: i.instanceId === state.instanceId, title: i.instanceId },
        visibleString(i.name),
      ),
    ),
  )
  if (!state.instances.some((i) => i.instanceId === state.instanceId)) {
    picker.prepend(h('option', { value: state.instanceId, selected: true }, state.instanceId))
  }
  picker.addEventListener('change', () => {
    const section = INSTANCE_SECTIONS.some(([n]) => n === current) ? current : 'credentials'
    const segment = INSTANCE_SECTIONS.find(([n]) => n === section)?.[1] ?? 'credentials'
    navigate(href('i', picker.value, segment))
  })

  replace(
    nav,
    h('div', { class: 'field instance-picker' }, h('label', { for: pickerId }, 'Instance'), picker),
    h(
      'ul',
      { class: 'nav-list' },
      INSTANCE_SECTIONS.map(([name, segment, label]) =>
        link(name, href('i', state.instanceId, segment), label),
      ),
    ),
    h('p', { class: 'nav-heading' }, 'Server'),
    h(
      'ul',
      { class: 'nav-list' },
      GLOBAL_SECTIONS.map(([name, segment, label]) => link(name, href(segment), label)),
    ),
  )
  nav.classList.remove('open')
}

/** The signed-out frame: nothing but the brand. */
export function clearShell(): void {
  const tools = document.getElementById('topbar-tools')
  const nav = document.getElementById('nav')
  if (tools) replace(tools)
  if (nav) {
    replace(nav)
    nav.classList.remove('open')
  }
}
