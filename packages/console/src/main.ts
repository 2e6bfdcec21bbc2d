// The console's entry point: learn whether a session exists, then render the route or sign-in.

import type { Instance, InstancePage, WhoAmI } from '@strongroom/protocol'
import { ApiError, type ConsoleSession, get, request, setCsrfToken, setUnauthorizedHandler } from './api.js'
import type { PageContext } from './context.js'
import { h, replace } from './dom.js'
import { accountPage, accountsPage } from './page-accounts.js'
import { adminTokensPage } from './page-admin-tokens.js'
import { applicationPage, applicationsPage } from './page-applications.js'
import { auditPage } from './page-audit.js'
import { cloudAccountPage, cloudAccountsPage } from './page-cloud-accounts.js'
import { credentialPage, credentialsPage } from './page-credentials.js'
import { grantsPage } from './page-grants.js'
import { instancesPage } from './page-instances.js'
import { providerPage, providersPage } from './page-providers.js'
import { signingKeysPage } from './page-signing-keys.js'
import { BASE, href, match, navigate, route, startRouter } from './router.js'
import { clearShell, renderShell } from './shell.js'
import { signInPage } from './sign-in.js'
import { dropShownSecrets, messageOf, notice } from './ui.js'

type Page = (ctx: PageContext) => Promise<void> | void

const PAGES: Record<string, Page> = {
  credentials: credentialsPage,
  credential: credentialPage,
  accounts: accountsPage,
  account: accountPage,
  applications: applicationsPage,
  application: applicationPage,
  grants: grantsPage,
  providers: providersPage,
  provider: providerPage,
  'cloud-accounts': cloudAccountsPage,
  'cloud-account': cloudAccountPage,
  'signing-keys': signingKeysPage,
  audit: auditPage,
  instances: instancesPage,
  'admin-tokens': adminTokensPage,
}

route('credentials', '/i/:instanceId/credentials')
route('credential', '/i/:instanceId/credentials/:id')
route('accounts', '/i/:instanceId/accounts')
route('account', '/i/:instanceId/accounts/:id')
route('applications', '/i/:instanceId/applications')
route('application', '/i/:instanceId/applications/:id')
route('grants', '/i/:instanceId/grants')
route('providers', '/i/:instanceId/providers')
route('provider', '/i/:instanceId/providers/:id')
route('cloud-accounts', '/i/:instanceId/cloud-accounts')
route('cloud-account', '/i/:instanceId/cloud-accounts/:id')
route('signing-keys', '/i/:instanceId/signing-keys')
route('audit', '/i/:instanceId/audit')
route('instances', '/instances')
route('admin-tokens', '/admin-tokens')

interface State {
  session: ConsoleSession
  instances: Instance[]
  defaultInstanceId: string
}

let state: State | null = null
let leaving: AbortController | null = null
/** Whether a session was shown when the browser last put the page away. */
let wasSignedIn = false
let cleanups: Array<() => void> = []
const main = document.getElementById('main')!

/** Stop the current page: its timers, its polls, any value it revealed or secret it showed once. */
function leavePage(): void {
  leaving?.abort()
  leaving = null
  dropShownSecrets()
  // A confirmation asked on the page left (or before the session ended) is not answered.
  for (const dialog of document.querySelectorAll('dialog[open]')) (dialog as HTMLDialogElement).close()
  const fns = cleanups
  cleanups = []
  for (const fn of fns) {
    try {
      fn()
    } catch {
      // a cleanup that fails must not keep the others from running
    }
  }
}

async function loadInstances(
  session: ConsoleSession,
): Promise<{ instances: Instance[]; defaultInstanceId: string }> {
  const who = await get<WhoAmI>('/admin/v1/whoami')
  const instances: Instance[] = []
  try {
    let nextToken: string | null = null
    do {
      const page: InstancePage = await get<InstancePage>('/admin/v1/instances', {
        maxResults: 100,
        nextToken,
      })
      instances.push(...page.entities)
      nextToken = page.nextToken
    } while (nextToken !== null && instances.length < 1000)
  } catch {
    // an instance admin may not list instances: its own is the only one
  }
  const scoped = session.instanceScope ?? who.instanceId
  const visible = scoped === null ? instances : instances.filter((i) => i.instanceId === scoped)
  return { instances: visible, defaultInstanceId: scoped ?? who.defaultInstanceId }
}

function showSignIn(message: string | null): void {
  leavePage()
  state = null
  setCsrfToken(null)
  clearShell()
  setTitle('Sign in')
  signInPage(main, message, (session) => void start(session))
}

async function start(session: ConsoleSession): Promise<void> {
  setCsrfToken(session.csrfToken)
  try {
    const { instances, defaultInstanceId } = await loadInstances(session)
    state = { session, instances, defaultInstanceId }
  } catch (error) {
    // A 401 has already brought the sign-in page back; anything else is said where the page would be.
    if (!(error instanceof ApiError && error.status === 401)) replace(main, notice('error', messageOf(error)))
    return
  }
  render()
}

function render(): void {
  if (state === null) {
    showSignIn(null)
    return
  }
  leavePage()
  const current = state
  const path = location.pathname
  const found = match(path)
  if (!found) {
    // `/console`, `/console/` or an unknown path: the default instance's credentials.
    if (path === BASE || path === `${BASE}/`)
      navigate(href('i', current.defaultInstanceId, 'credentials'), true)
    else {
      renderShell(shellState(current, current.defaultInstanceId, ''))
      replace(
        main,
        h('h1', { id: 'page-title' }, 'Page not found'),
        h(
          'p',
          null,
          'Nothing lives at this address. ',
          h('a', { href: href('i', current.defaultInstanceId, 'credentials') }, 'Go to the credentials'),
          '.',
        ),
      )
      setTitle('Not found')
    }
    return
  }
  const instanceId = found.params['instanceId'] ?? current.defaultInstanceId
  // The system audit chain (`/console/i/system/audit`) is no instance: the navigation stays on the default one.
  const shellInstance = instanceId === 'system' ? current.defaultInstanceId : instanceId
  renderShell(shellState(current, shellInstance, found.name))
  const controller = new AbortController()
  leaving = controller
  const ctx: PageContext = {
    main,
    params: found.params,
    instanceId,
    session: current.session,
    instances: current.instances,
    signal: controller.signal,
    onLeave: (fn) => {
      cleanups.push(fn)
    },
    reloadInstances: async () => {
      const loaded = await loadInstances(current.session)
      current.instances = loaded.instances
      if (!controller.signal.aborted) renderShell(shellState(current, shellInstance, found.name))
    },
  }
  replace(main, h('p', { class: 'loading' }, 'Loading…'))
  main.focus({ preventScroll: true })
  window.scrollTo(0, 0)
  const page = PAGES[found.name]!
  Promise.resolve(page(ctx)).catch((error: unknown) => {
    if (controller.signal.aborted) return
    replace(
      main,
      h('h1', { id: 'page-title' }, 'Could not load this page'),
      notice('error', messageOf(error)),
    )
  })
  const title = main.querySelector('#page-title')?.textContent
  setTitle(title)
}

function shellState(current: State, instanceId: string, routeName: string) {
  return {
    session: current.session,
    instances: current.instances,
    instanceId,
    routeName,
    onSignOut: () => void signOut(),
  }
}

/** A session unused this long ends (the server's `SESSION_IDLE_MS`, services/console-sessions/). */
const SESSION_IDLE_MINUTES = 30

/**
 * Ends the session. "Signed out" is said only when it is true: the server ended it (204) or it
 * was gone already (401). When the server could not end it (a 5xx: it could not write the audit
 * event), the server has still told the browser to drop its cookie, and the page says the session
 * ends by itself. When the request did not get through (or was refused), the session is active
 * and the page says so.
 */
async function signOut(): Promise<void> {
  let message = 'You are signed out.'
  try {
    await request<void>('DELETE', '/console/session')
  } catch (error) {
    const status = error instanceof ApiError ? error.status : 0
    if (status >= 500) {
      message = `This browser no longer holds the session, but the server could not end it (${messageOf(error)}). It ends by itself after ${SESSION_IDLE_MINUTES} minutes without use.`
    } else if (status !== 401) {
      replace(
        main,
        notice('error', `Sign-out failed: ${messageOf(error)} The session is still active; try again.`),
      )
      return
    }
  }
  history.replaceState(null, '', `${BASE}/`)
  showSignIn(message)
}

/**
 * The page title: the page's heading (a resource's name or identifier, never a value or a token)
 * and the product. The only place the title is written.
 */
function setTitle(heading: string | null | undefined): void {
  const wanted = `${heading || 'strongroom'} · strongroom console`
  if (document.title !== wanted) document.title = wanted
}

/** Keep the page title in step with the page's heading (pages render it after loading). */
function watchTitle(): void {
  new MutationObserver(() => {
    const heading = main.querySelector('#page-title')?.textContent
    if (heading) setTitle(heading)
  }).observe(main, { childList: true, subtree: true, characterData: true })
}

/** The session the cookie names, or null when there is none (or the server cannot say). */
async function currentSession(): Promise<ConsoleSession | null> {
  try {
    return await request<ConsoleSession>('GET', '/console/session')
  } catch {
    return null
  }
}

/**
 * The browser is putting the page away (`pagehide`): another site, a reload, a closed tab, or
 * the back/forward cache, which keeps the page whole, DOM and memory, frozen, and shows it again
 * on Back with no request to the server. So the page is left as on sign-out: the current page
 * stopped, every revealed value and one-time secret removed, the CSRF token forgotten, and
 * nothing of the session shown, until `pageshow` has asked the server again.
 */
function putAway(): void {
  wasSignedIn = state !== null
  leavePage()
  state = null
  setCsrfToken(null)
  clearShell()
  replace(main)
}

/**
 * The page came back from the back/forward cache (`pageshow` with `persisted`): the session may
 * have ended meanwhile (signed out in another tab, expired, revoked), so the server is asked
 * before anything is shown; without a session, the sign-in page.
 */
async function comeBack(): Promise<void> {
  replace(main, h('p', { class: 'loading' }, 'Checking your session…'))
  const session = await currentSession()
  if (session) await start(session)
  else showSignIn(wasSignedIn ? 'Your session has ended. Sign in again.' : null)
}

async function boot(): Promise<void> {
  setUnauthorizedHandler(() => showSignIn('Your session has ended. Sign in again.'))
  startRouter(render)
  watchTitle()
  window.addEventListener('pagehide', putAway)
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) void comeBack()
  })
  const session = await currentSession()
  if (session) await start(session)
  else showSignIn(null)
}

void boot()
