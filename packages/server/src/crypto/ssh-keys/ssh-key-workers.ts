import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { SshKeyWorkerReply, SshKeyWorkerRequest } from './ssh-key-worker.js'

/**
 * How many keys are read at once, each on a worker thread of its own: two at most, and never every
 * core, so that the event loop always keeps one. Further reads wait their turn.
 */
export const MAX_SSH_KEY_WORKERS = Math.max(1, Math.min(2, availableParallelism() - 1))
/** An idle worker is ended after this long; the next read starts a new one (some 30 ms). */
const IDLE_MS = 30_000

interface Job {
  readonly request: SshKeyWorkerRequest
  readonly resolve: (reply: SshKeyWorkerReply) => void
  readonly reject: (error: Error) => void
}

const idle: Worker[] = []
const queue: Job[] = []
const idleTimers = new Map<Worker, NodeJS.Timeout>()
let live = 0
let running = 0

/**
 * Runs `request` on a worker of the pool, queueing it while `MAX_SSH_KEY_WORKERS` are busy. The
 * passphrase's buffer is transferred: it is detached here. A busy worker keeps the process alive
 * (its caller is waiting); an idle one never does.
 */
export function runOnSshKeyWorker(request: SshKeyWorkerRequest): Promise<SshKeyWorkerReply> {
  return new Promise((resolve, reject) => {
    queue.push({ request, resolve, reject })
    dispatch()
  })
}

/** How many reads are running on a worker now (for tests and metrics). */
export function sshKeyReadsRunning(): number {
  return running
}

function dispatch(): void {
  while (queue.length > 0) {
    const worker = idle.pop() ?? (live < MAX_SSH_KEY_WORKERS ? start() : undefined)
    if (worker === undefined) return
    run(worker, queue.shift()!)
  }
}

function run(worker: Worker, job: Job): void {
  clearTimeout(idleTimers.get(worker))
  idleTimers.delete(worker)
  running++
  worker.ref()
  const settle = (reusable: boolean) => {
    running--
    worker.off('message', onMessage)
    worker.off('error', onError)
    worker.off('exit', onExit)
    if (reusable) rest(worker)
    dispatch()
  }
  const onMessage = (reply: SshKeyWorkerReply) => {
    settle(true)
    job.resolve(reply)
  }
  const onError = (error: Error) => {
    settle(false)
    void worker.terminate()
    job.reject(error)
  }
  const onExit = (code: number) => {
    settle(false)
    job.reject(new Error(`the SSH key worker stopped (exit code ${code})`))
  }
  worker.on('message', onMessage)
  worker.on('error', onError)
  worker.on('exit', onExit)
  try {
    worker.postMessage(job.request, [job.request.passphrase.buffer as ArrayBuffer])
  } catch (error) {
    settle(true)
    job.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

function rest(worker: Worker): void {
  worker.unref()
  idle.push(worker)
  const timer = setTimeout(() => void worker.terminate(), IDLE_MS)
  timer.unref()
  idleTimers.set(worker, timer)
}

function start(): Worker {
  const worker = new Worker(WORKER)
  live++
  worker.once('exit', () => {
    live--
    clearTimeout(idleTimers.get(worker))
    idleTimers.delete(worker)
    const at = idle.indexOf(worker)
    if (at !== -1) idle.splice(at, 1)
    dispatch()
  })
  return worker
}

// The tests run the server from its TypeScript sources (vitest's `strongroom-source` condition),
// which Node 20 cannot load in a worker: there, the worker is the built one, as `npm test` builds
// before it runs (a stale build would run stale worker code; `tsc -b` first).
const SOURCE = import.meta.url.endsWith('.ts')
const WORKER = SOURCE
  ? new URL('../../../dist/crypto/ssh-keys/ssh-key-worker.js', import.meta.url)
  : new URL('./ssh-key-worker.js', import.meta.url)
