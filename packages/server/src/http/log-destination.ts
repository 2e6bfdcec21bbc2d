import { write } from 'node:fs'

/**
 * pino's destination: never throws, never blocks. Lines are queued (bounded) and written to a file
 * descriptor asynchronously, one write in flight at a time. A failed write (ENOSPC, EFBIG, EPIPE,
 * EAGAIN…) drops its batch and counts it; the next lines are tried again. The log is not the audit.
 */
export class LogDestination {
  /** Lines dropped: queue full or a failed write. */
  dropped = 0
  /** The code of the last write error, if any. */
  lastError: string | null = null
  private queue: string[] = []
  private queuedBytes = 0
  private writing = false

  constructor(
    private readonly fd = 1,
    private readonly maxBytes = 1024 * 1024,
    private readonly maxLines = 10_000,
  ) {}

  write(line: string): boolean {
    try {
      if (this.queue.length >= this.maxLines || this.queuedBytes + line.length > this.maxBytes) {
        this.dropped++
        return true
      }
      this.queue.push(line)
      this.queuedBytes += line.length
      if (!this.writing) this.flush()
    } catch {
      this.dropped++
    }
    return true
  }

  private flush(): void {
    if (this.queue.length === 0) return
    const lines = this.queue
    this.queue = []
    this.queuedBytes = 0
    this.writing = true
    const buffer = Buffer.from(lines.join(''), 'utf8')
    const done = (err: NodeJS.ErrnoException | null): void => {
      this.writing = false
      if (err) {
        this.dropped += lines.length
        this.lastError = typeof err.code === 'string' ? err.code : 'EIO'
      }
      this.flush()
    }
    const writeFrom = (offset: number): void => {
      try {
        write(this.fd, buffer, offset, buffer.length - offset, null, (err, written) => {
          if (err) return done(err)
          if (offset + written < buffer.length && written > 0) return writeFrom(offset + written)
          done(null)
        })
      } catch (err) {
        done(err as NodeJS.ErrnoException)
      }
    }
    writeFrom(0)
  }
}
