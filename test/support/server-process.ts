// End-to-end helpers: the real `strongroom` command (packages/cli/dist/bin.js, so `npm run build`
// first) as a child process. The server writes its base URL to DATA_DIR/url once it listens and its
// first admin token to DATA_DIR/admin-token; everything it prints is kept so tests can look for
// leaked secrets.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { get as httpsGet } from 'node:https'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const cliBin: string = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js')

const READY_TIMEOUT_MS = 20_000
const POLL_INTERVAL_MS = 25
const STOP_GRACE_MS = 10_000
const CLI_TIMEOUT_MS = 30_000

/** Extra environment; `undefined` removes a variable inherited from the test process. */
export type EnvOverrides = Readonly<Record<string, string | undefined>>

export interface StartServerOptions {
  /** Where the server keeps its state; a fresh temporary folder by default. Reuse one to restart. */
  readonly dataDir?: string
  readonly env?: EnvOverrides
  /** Appended after `serve --data-dir DIR --listen 127.0.0.1:0`. */
  readonly args?: readonly string[]
  /** A file descriptor for the server's stdout (its log) instead of a pipe the harness reads. */
  readonly stdout?: number
  /** A command that runs the server, e.g. `['prlimit', '--fsize=1024', '--']` (it must exec it). */
  readonly wrapper?: readonly string[]
}

export interface ServerProcess {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:43125`. */
  readonly url: string
  readonly dataDir: string
  readonly pid: number
  /** Exit code once the process has exited (null while running, or when it died from a signal). */
  readonly exitCode: number | null
  /** Signal that ended the process, once it has exited that way. */
  readonly signalCode: NodeJS.Signals | null
  /** Everything written to stdout and stderr so far, interleaved in arrival order. */
  logs(): string
  /** The admin token the server wrote on its first start (DATA_DIR/admin-token), trimmed. */
  adminToken(): Promise<string>
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>
  /** SIGKILL, as a crash would; resolves once the process has exited. */
  kill9(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface RunCliOptions {
  readonly env?: EnvOverrides
  /** Written to stdin, which is then closed. Without it stdin is closed at once. */
  readonly input?: string
  /** Passed as `--data-dir DIR` right after `args`. */
  readonly dataDir?: string
  /** Working folder; the repository root by default. */
  readonly cwd?: string
  readonly timeoutMs?: number
}

export interface CliResult {
  /** Exit code; null when the process was killed (the timeout). */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const running = new Set<ChildProcess>()
// A test that throws before stop() must not leave a server listening after the worker exits.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

function childEnv(overrides: EnvOverrides | undefined): NodeJS.ProcessEnv {
  // NO_COLOR: picocolors turns colours on under CI=…, which would break assertions on output.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return env
}

function assertBuilt(): void {
  if (!existsSync(cliBin)) {
    throw new Error(`${cliBin} does not exist: run \`npm run build\` before the end-to-end tests`)
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.removeListener('exit', onExit)
      resolve(false)
    }, timeoutMs)
    const onExit = (): void => {
      clearTimeout(timer)
      resolve(true)
    }
    child.once('exit', onExit)
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function readUrlFile(path: string): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  const url = text?.trim()
  // The file may be seen half-written; only a complete URL counts.
  return url && /^https?:\/\/[^/\s]+$/.test(url.replace(/\/$/, '')) ? url.replace(/\/$/, '') : undefined
}

async function isReady(url: string): Promise<boolean> {
  // A server with a self-signed certificate: the probe asks only whether it answers, not who it is.
  if (url.startsWith('https:')) return isReadyOverTls(url)
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })
    await response.body?.cancel()
    return response.status === 200
  } catch {
    return false
  }
}

function isReadyOverTls(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpsGet(`${url}/readyz`, { rejectUnauthorized: false, timeout: 2_000 }, (response) => {
      response.resume()
      resolve(response.statusCode === 200)
    })
    request.on('error', () => resolve(false))
    request.on('timeout', () => request.destroy())
  })
}

/**
 * Starts `strongroom serve` on a free port and resolves once `GET /readyz` answers 200.
 *
 * @example
 * const server = await startServer()
 * try {
 *   const token = await server.adminToken()
 *   // … requests to server.url …
 * } finally {
 *   await server.stop()
 * }
 */
export async function startServer(options: StartServerOptions = {}): Promise<ServerProcess> {
  assertBuilt()
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'strongroom-e2e-')))
  const urlFile = join(dataDir, 'url')
  // A URL left by an earlier run (or a killed server) would point at a dead port.
  await rm(urlFile, { force: true })

  const args = [cliBin, 'serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...(options.args ?? [])]
  const [command, ...prefix] = [...(options.wrapper ?? []), process.execPath]
  const child = spawn(command ?? process.execPath, [...prefix, ...args], {
    cwd: repoRoot,
    env: childEnv(options.env),
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  })
  running.add(child)
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  let spawnError: Error | undefined
  child.once('error', (error) => {
    spawnError = error
  })
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child)
      resolve()
    })
  })

  const describeExit = (): string =>
    child.signalCode !== null ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`

  const deadline = Date.now() + READY_TIMEOUT_MS
  let url: string | undefined
  for (;;) {
    if (spawnError) throw new Error(`could not start ${cliBin}: ${spawnError.message}`, { cause: spawnError })
    if (exited(child)) {
      // Let the pipes drain so the message shows the last words.
      await sleep(POLL_INTERVAL_MS)
      throw new Error(`strongroom serve ${describeExit()} before it was ready. Output:\n${output}`)
    }
    url ??= await readUrlFile(urlFile)
    if (url !== undefined && (await isReady(url))) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      await exitedPromise
      const where = url === undefined ? `${urlFile} never appeared` : `${url}/readyz never answered 200`
      throw new Error(
        `strongroom serve was not ready after ${READY_TIMEOUT_MS} ms (${where}). Output:\n${output}`,
      )
    }
    await sleep(POLL_INTERVAL_MS)
  }
  const readyUrl = url

  const signalAndWait = async (signal: NodeJS.Signals): Promise<void> => {
    if (!exited(child)) child.kill(signal)
    await exitedPromise
  }
  const stop = async (): Promise<void> => {
    if (exited(child)) return
    child.kill('SIGTERM')
    if (!(await waitForExit(child, STOP_GRACE_MS))) await signalAndWait('SIGKILL')
    await exitedPromise
  }

  return {
    url: readyUrl,
    dataDir,
    pid: child.pid ?? -1,
    get exitCode() {
      return child.exitCode
    },
    get signalCode() {
      return child.signalCode
    },
    logs: () => output,
    adminToken: async () => (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim(),
    stop,
    kill9: () => signalAndWait('SIGKILL'),
    [Symbol.asyncDispose]: stop,
  }
}

/**
 * Runs the `strongroom` command to completion and returns its exit code and output.
 *
 * @example
 * const { code, stdout } = await runCli(['--version'])
 */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  assertBuilt()
  const argv = [cliBin, ...args, ...(options.dataDir === undefined ? [] : ['--data-dir', options.dataDir])]
  const timeoutMs = options.timeoutMs ?? CLI_TIMEOUT_MS
  const child = spawn(process.execPath, argv, {
    cwd: options.cwd ?? repoRoot,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  running.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  // EPIPE when the command exits without reading its input is not our failure.
  child.stdin?.on('error', () => {})
  child.stdin?.end(options.input ?? '')

  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, timeoutMs)
  try {
    // 'close' rather than 'exit': it fires once stdout and stderr are fully read.
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (exitCode) => resolve(exitCode))
    })
    if (timedOut) {
      throw new Error(
        `strongroom ${args.join(' ')} did not finish within ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`,
      )
    }
    return { code, stdout, stderr }
  } finally {
    clearTimeout(timer)
    running.delete(child)
  }
}
