import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, extname, join } from 'node:path'
import { gzipSync } from 'node:zlib'

/** One file of the console, held in memory as it is answered. */
export interface ConsoleFile {
  readonly body: Buffer
  /** The gzip encoding, when the type compresses and gzip makes it smaller. */
  readonly gzip: Buffer | null
  readonly type: string
  /** A strong validator of the content (the gzip answer's is this with `-gz`). */
  readonly etag: string
}

/** The console as built: its page, `assets/` by file name, and `dist/`'s scripts by relative path. */
export interface ConsoleBundle {
  readonly index: ConsoleFile
  readonly assets: ReadonlyMap<string, ConsoleFile>
  readonly scripts: ReadonlyMap<string, ConsoleFile>
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
}
const COMPRESSIBLE = new Set(['.html', '.css', '.js', '.map', '.json', '.svg', '.txt'])

/** Where a console that is not yet built is looked for again, at most this often. */
const RETRY_NOT_BUILT_MS = 2_000

/** The folder of the `@strongroom/console` package, or null when it is not installed. */
export function packagedConsoleRoot(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('@strongroom/console/package.json'))
  } catch {
    return null
  }
}

/**
 * The console's files, read once into memory at the first request (the console is small: tens of
 * kilobytes) and never from disk again, so a request cannot name a file outside them: `..` or a
 * symbolic link is simply not a key. While the console is not built (no `dist/main.js`), each
 * request after a short pause looks again, so building it does not need a restart.
 */
export class ConsoleFiles {
  private loaded: Promise<ConsoleBundle | null> | null = null
  private checkedAt = 0

  constructor(
    private readonly root: string | null,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<ConsoleBundle | null> {
    if (
      this.loaded === null ||
      (this.now() - this.checkedAt > RETRY_NOT_BUILT_MS && (await this.loaded) === null)
    ) {
      this.checkedAt = this.now()
      // An unreadable folder is answered like a missing build, and looked at again later.
      this.loaded = this.root === null ? Promise.resolve(null) : load(this.root).catch(() => null)
    }
    return this.loaded
  }
}

async function load(root: string): Promise<ConsoleBundle | null> {
  const assetsDir = join(root, 'assets')
  const distDir = join(root, 'dist')
  if (!(await isFile(join(assetsDir, 'index.html'))) || !(await isFile(join(distDir, 'main.js')))) return null
  const assets = new Map<string, ConsoleFile>()
  for (const entry of await readdir(assetsDir, { withFileTypes: true })) {
    if (entry.isFile() && !entry.name.startsWith('.')) {
      assets.set(entry.name, await consoleFile(join(assetsDir, entry.name)))
    }
  }
  const scripts = new Map<string, ConsoleFile>()
  for (const path of await scriptPaths(distDir, '')) scripts.set(path, await consoleFile(join(distDir, path)))
  return { index: assets.get('index.html')!, assets, scripts }
}

/** The `.js` files under `dir` (and their source maps, where built), as relative paths with `/`. */
async function scriptPaths(dir: string, prefix: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (entry.isDirectory()) found.push(...(await scriptPaths(dir, path)))
    else if (entry.isFile() && (path.endsWith('.js') || path.endsWith('.js.map'))) found.push(path)
  }
  return found
}

async function consoleFile(path: string): Promise<ConsoleFile> {
  const body = await readFile(path)
  const ext = extname(path).toLowerCase()
  const zipped = COMPRESSIBLE.has(ext) ? gzipSync(body, { level: 9 }) : null
  return {
    body,
    gzip: zipped !== null && zipped.length < body.length ? zipped : null,
    type: TYPES[ext] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}
