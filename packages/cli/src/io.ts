import type { ServerApi } from './server-api.js'

/** What the CLI reads input from. `process.stdin` fits; tests pass a PassThrough. */
export interface InputStream extends NodeJS.ReadableStream {
  isTTY?: boolean
  setRawMode?: (mode: boolean) => unknown
}

/** What the CLI writes to. `process.stdout` fits; tests pass a collecting stream. */
export interface OutputStream extends NodeJS.WritableStream {
  isTTY?: boolean
}

/** Everything the CLI takes from its surroundings, so tests can run it without a process of its own. */
export interface Io {
  readonly stdin: InputStream
  readonly stdout: OutputStream
  readonly stderr: OutputStream
  readonly env: Readonly<Record<string, string | undefined>>
  /** The folder `./.strongroom/…` is looked up in. */
  readonly cwd: string
  readonly fetch: typeof fetch
  /** Loads `@strongroom/server` on demand, so admin commands do not load database drivers. */
  readonly loadServer: () => Promise<ServerApi>
  /** Calls `handler` on Ctrl-C (SIGINT); returns a function that stops listening. */
  readonly onInterrupt: (handler: () => void) => () => void
}

/** The real process: its streams, environment, working folder and signals. */
export function processIo(): Io {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    fetch: globalThis.fetch,
    loadServer: () => import('@strongroom/server'),
    onInterrupt: (handler) => {
      process.on('SIGINT', handler)
      return () => process.off('SIGINT', handler)
    },
  }
}
