// Signing in and out of the console the way a person does (the form, the button), and what a test
// needs to keep from a session afterwards: the cookie as the browser holds it and the CSRF token the
// server gave the page, so it can replay them from outside the browser.
import type { BrowserContext, Cookie, Page } from 'playwright-core'

/** What `POST /console/session` answers (201). */
export interface ConsoleSessionBody {
  readonly csrfToken: string
  readonly expiresAt: number
  readonly idleExpiresAt: number
  readonly adminTokenId: string
  readonly adminTokenName: string
  readonly instanceScope: string | null
}

export const SESSION_COOKIE = 'strongroom_session'
/** The cookie's name on a TLS listener: `__Host-` pins it to the origin, Secure, `Path=/`. */
export const SECURE_SESSION_COOKIE = '__Host-strongroom_session'

export interface SignedIn {
  readonly session: ConsoleSessionBody
  /** Every `Set-Cookie` header of the 201, as the browser received them. */
  readonly setCookie: readonly string[]
  /** The moment the answer arrived (ms since the epoch), to judge Max-Age against. */
  readonly receivedAt: number
}

/**
 * Opens `/console/` and fails with the server's answer when it is not the page (a 503 says the
 * console is not built: `npm run build`).
 */
export async function openConsole(page: Page, baseUrl: string): Promise<void> {
  const response = await page.goto(`${baseUrl}/console/`)
  if (!response?.ok()) {
    throw new Error(`GET /console/ answered ${response?.status()}: ${await response?.text()}`)
  }
}

const isSessionPost = (method: string, url: string): boolean =>
  method === 'POST' && new URL(url).pathname === '/console/session'

/**
 * Opens `/console/`, types the admin token into "Admin token", presses "Sign in" and waits for the
 * signed-in shell ("Sign out"). Fails with the server's answer when the sign-in is refused. With
 * `keyboard`, it uses no pointer: the field must have the focus on load, and Enter submits.
 */
export async function signIn(
  page: Page,
  baseUrl: string,
  adminToken: string,
  options: { keyboard?: boolean } = {},
): Promise<SignedIn> {
  await openConsole(page, baseUrl)
  const field = page.getByLabel('Admin token')
  const answered = page.waitForResponse((r) => isSessionPost(r.request().method(), r.url()))
  if (options.keyboard) {
    await field.waitFor()
    if (!(await field.evaluate((el) => el === document.activeElement))) {
      throw new Error('the "Admin token" field does not have the focus when the sign-in page opens')
    }
    await page.keyboard.type(adminToken)
    await page.keyboard.press('Enter')
  } else {
    await field.fill(adminToken)
    await page.getByRole('button', { name: 'Sign in' }).click()
  }
  const response = await answered
  const receivedAt = Date.now()
  if (response.status() !== 201) {
    throw new Error(`POST /console/session answered ${response.status()}: ${await response.text()}`)
  }
  const session = (await response.json()) as ConsoleSessionBody
  const setCookie = (await response.headersArray())
    .filter((header) => header.name.toLowerCase() === 'set-cookie')
    .map((header) => header.value)
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
  return { session, setCookie, receivedAt }
}

/** Presses "Sign out" and waits for the server's answer to `DELETE /console/session` and the sign-in form. */
export async function signOut(page: Page): Promise<void> {
  const answered = page.waitForResponse(
    (r) => r.request().method() === 'DELETE' && new URL(r.url()).pathname === '/console/session',
  )
  await page.getByRole('button', { name: 'Sign out' }).click()
  const response = await answered
  if (response.status() >= 300) {
    throw new Error(`DELETE /console/session answered ${response.status()}: ${await response.text()}`)
  }
  await page.getByLabel('Admin token').waitFor()
}

/** The session cookie as the browser keeps it (either name), or undefined. */
export async function sessionCookie(context: BrowserContext): Promise<Cookie | undefined> {
  const cookies = await context.cookies()
  return cookies.find((c) => c.name === SESSION_COOKIE || c.name === SECURE_SESSION_COOKIE)
}

/** A `Set-Cookie` header split into its name, value and attributes (names lower-cased). */
export interface ParsedSetCookie {
  readonly name: string
  readonly value: string
  readonly attributes: ReadonlyMap<string, string>
}

export function parseSetCookie(header: string): ParsedSetCookie {
  const [pair = '', ...rest] = header.split(';')
  const eq = pair.indexOf('=')
  const attributes = new Map<string, string>()
  for (const part of rest) {
    const i = part.indexOf('=')
    const key = (i === -1 ? part : part.slice(0, i)).trim().toLowerCase()
    attributes.set(key, i === -1 ? '' : part.slice(i + 1).trim())
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes }
}
