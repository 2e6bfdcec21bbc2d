import { write } from 'node:fs'

/** What `/readyz` and the metrics report about the log. */
export interface LogHealth {
  /** Lines given up: the queue was full, or their write failed. */
  readonly droppedLines: number
  /** Whether the last write failed (and has not succeeded since). */
  readonly failing: boolean
  /** The error code of the last failed write (`ENOSPC`, `EFBIG`, `EPIPE`…), if any. */
  readonly lastError: string | null
}

const RETRY_LATER_MS = 20

/**
 * pino's destination, and the banner's. It never throws and never blocks the event loop: lines
 * are queued (bounded in lines and bytes) and written to a file descriptor with one asynchronous
 * write in flight. A write that fails (a full disk, a file-size limit, `/dev/full`, a closed pipe)
 * drops its lines and counts them; the next lines are tried again, so the log resumes by itself
 * once writing works. The log is not the audit: nothing here may stop the service. (pino's own
 * destination emits an unhandled `'error'` on ENOSPC, and its exit handler then retries a
 * synchronous flush forever.)
 */
export class LogDestination {
  private queue: string[] = []
  private queuedBytes = 0
  private writing = false
  private dropped = 0
  private failing = false
  private lastError: string | null = null

  constructor(
    private readonly fd = 1,
    private readonly maxBytes = 4 * 1024 * 1024,
    private readonly maxLines = 20_000,
  ) {}

  write(line: string): boolean {
    if (this.queue.length >= this.maxLines || this.queuedBytes + line.length > this.maxBytes) {
      this.dropped++
      return true
    }
    this.queue.push(line)
    this.queuedBytes += line.length
    if (!this.writing) this.flush()
    return true
  }

  health(): LogHealth {
    return { droppedLines: this.dropped, failing: this.failing, lastError: this.lastError }
  }

  private flush(): void {
    if (this.queue.length === 0) return
    const lines = this.queue
    this.queue = []
    this.queuedBytes = 0
    this.writing = true
    this.writeAll(Buffer.from(lines.join(''), 'utf8'), 0, lines.length)
  }

  private writeAll(buffer: Buffer, offset: number, lines: number): void {
    const finished = (err: NodeJS.ErrnoException | null): void => {
      this.writing = false
      if (err) {
        this.dropped += lines
        this.failing = true
        this.lastError = typeof err.code === 'string' ? err.code : 'EIO'
      } else {
        this.failing = false
      }
      this.flush()
    }
    try {
      write(this.fd, buffer, offset, buffer.length - offset, null, (err, written) => {
        // A non-blocking pipe whose reader is behind: wait for it rather than drop the lines.
        if (err?.code === 'EAGAIN') {
          setTimeout(() => this.writeAll(buffer, offset, lines), RETRY_LATER_MS).unref()
          return
        }
        if (err) return finished(err)
        if (written > 0 && offset + written < buffer.length) {
          return this.writeAll(buffer, offset + written, lines)
        }
        finished(null)
      })
    } catch (err) {
      finished(err as NodeJS.ErrnoException)
    }
  }
}
