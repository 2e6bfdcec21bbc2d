// The browser half of the console tests: Debian's Chromium driven by playwright-core through its
// executable path (no downloaded browser), a collector that fails a test on any page error or CSP
// violation it did not expect, and full-page screenshots kept under .test-results/screenshots/ for a
// reviewer (the folder is gitignored).
import { accessSync, constants, mkdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core'
import { repoRoot } from '../../support/server-process.js'

/** Flags for a quiet, hermetic headless run: no sandbox (CI runs as root), no network of its own. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export const screenshotDir: string = join(repoRoot, '.test-results', 'screenshots')

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Where Chromium is: `STRONGROOM_CHROMIUM` when set (it must exist), else `/usr/bin/chromium`
 * (Debian's launcher), else `chromium` on `PATH`. Throws a message saying how to get it rather
 * than a spawn error.
 */
export function chromiumPath(
  env: NodeJS.ProcessEnv = process.env,
  debianPath: string | null = '/usr/bin/chromium',
): string {
  const chosen = env['STRONGROOM_CHROMIUM']
  if (chosen) {
    if (executable(chosen)) return chosen
    throw new Error(`STRONGROOM_CHROMIUM=${chosen} is not an executable file`)
  }
  const onPath = (env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'chromium'))
  const found = [...(debianPath === null ? [] : [debianPath]), ...onPath].find(executable)
  if (found) return found
  throw new Error(
    'Chromium was not found (tried $STRONGROOM_CHROMIUM, /usr/bin/chromium and chromium on PATH): ' +
      "install Debian's chromium: .ci/run does it (apt-get install chromium)",
  )
}

/**
 * Launches headless Chromium. Playwright gives every non-persistent launch a fresh user data
 * folder of its own (a temporary profile, deleted on close), so no state survives between files.
 * Playwright turns the back/forward cache off (`--disable-back-forward-cache`) where a person's
 * browser has it on; `backForwardCache: true` leaves it on, for the tests of what Back brings back.
 */
export async function launchChromium(options: { backForwardCache?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS],
    ...(options.backForwardCache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {}),
  })
}

/** A problem the page reported: an uncaught error, a console error (CSP and Trusted Types violations are). */
export interface PageProblem {
  readonly kind: 'pageerror' | 'console'
  readonly text: string
  /** The page's address when it happened. */
  readonly url: string
  /** Where the message points: for "Failed to load resource", the resource's address. */
  readonly source: string
}

interface Expectation {
  readonly text: RegExp
  readonly source: RegExp | undefined
}

/**
 * Every error the pages of one context report. A test declares what it provokes on purpose with
 * `expect(pattern)`; `assertClean()` then fails on anything else, so an unexpected CSP violation
 * (a stray inline style, an `eval`) or an uncaught exception fails the test that caused it.
 */
export class ProblemCollector {
  readonly #problems: PageProblem[] = []
  readonly #expected: Expectation[] = []

  constructor(context: BrowserContext) {
    context.on('console', (message) => {
      if (message.type() !== 'error') return
      this.#problems.push({
        kind: 'console',
        text: message.text(),
        url: message.page()?.url() ?? '',
        source: message.location().url,
      })
    })
    context.on('weberror', (webError) => {
      const error = webError.error()
      this.#problems.push({
        kind: 'pageerror',
        text: `${error.name}: ${error.message}`,
        url: webError.page()?.url() ?? '',
        source: '',
      })
    })
  }

  /**
   * Problems whose text matches `text` (and whose source matches `source`, when given) are
   * provoked by the test and do not fail it.
   */
  expect(text: RegExp, source?: RegExp): void {
    this.#expected.push({ text, source })
  }

  /** The answer `status` to a request whose path is `path` (a signed-out page's session check…). */
  expectFailedLoad(status: number, path: string): void {
    this.expect(failedLoad(status), new RegExp(`^https?://[^/]+${escapeRegExp(path)}(?:[?#]|$)`))
  }

  all(): readonly PageProblem[] {
    return [...this.#problems]
  }

  unexpected(): PageProblem[] {
    return this.#problems.filter(
      (p) =>
        !this.#expected.some(
          (e) => e.text.test(p.text) && (e.source === undefined || e.source.test(p.source)),
        ),
    )
  }

  /** Throws, listing them, when a page reported a problem nobody expected. */
  assertClean(): void {
    const unexpected = this.unexpected()
    if (unexpected.length === 0) return
    const lines = unexpected.map(
      (p) => `  ${p.kind} at ${p.url}${p.source ? ` (${p.source})` : ''}: ${p.text}`,
    )
    throw new Error(`the console reported ${unexpected.length} unexpected problem(s):\n${lines.join('\n')}`)
  }

  /** Forgets what was seen (and expected) so far: for a test that reuses a context. */
  reset(): void {
    this.#problems.length = 0
    this.#expected.length = 0
  }
}

/**
 * Chromium logs every HTTP error answer as "Failed to load resource: … status of N". A test that
 * provokes one on purpose expects exactly that status.
 */
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

export function failedLoad(status: number): RegExp {
  return new RegExp(`Failed to load resource: the server responded with a status of ${status}\\b`)
}

export interface WatchedContext {
  readonly context: BrowserContext
  readonly problems: ProblemCollector
}

/** The longest one click, fill or wait may take. */
export const ACTION_TIMEOUT_MS = 15_000

/** A new context (its own cookie jar), 1280 × 800 unless told, with its problems collected. */
export async function newWatchedContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<WatchedContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options })
  // Well inside the test's own timeout, so a wait that never ends names its locator.
  context.setDefaultTimeout(ACTION_TIMEOUT_MS)
  return { context, problems: new ProblemCollector(context) }
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}

/**
 * Saves a full-page PNG to `.test-results/screenshots/<test>-<page>.png` and returns its path.
 * `viewportOnly` photographs what is on screen instead: for a modal dialog, whose backdrop covers
 * the viewport, not the whole page.
 *
 * @example
 * await screenshot(page, 'console-flow', 'applications-1280')
 */
export async function screenshot(
  page: Page,
  test: string,
  pageName: string,
  options: { viewportOnly?: boolean } = {},
): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true })
  const path = join(screenshotDir, `${slug(test)}-${slug(pageName)}.png`)
  await page.screenshot({ path, fullPage: !options.viewportOnly, animations: 'disabled' })
  return path
}
