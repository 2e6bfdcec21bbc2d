// @ts-check
/**
 * A minimal HTTP/1.1 keep-alive client over one TCP socket: one request at a time, prebuilt
 * request bytes, a response parser that reads the status line, `content-length`,
 * `transfer-encoding: chunked` and `connection: close`, and nothing else. It costs a fraction
 * of `http.Agent`'s CPU per request. That matters on 2 cores, where the load generator shares
 * the machine with the server it measures.
 */
import net from 'node:net'

const CRLFCRLF = Buffer.from('\r\n\r\n')

export class RawConnection {
  /** @param {string} host @param {number} port */
  constructor(host, port) {
    this.host = host
    this.port = port
    /** @type {net.Socket | null} */
    this.socket = null
    this.buffer = Buffer.alloc(0)
    /** @type {((r: { status: number, body: Buffer, close: boolean }) => void) | null} */
    this.onResponse = null
    /** @type {((e: Error) => void) | null} */
    this.onError = null
    this.opened = 0
  }

  /** @returns {Promise<net.Socket>} */
  connect() {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port, noDelay: true })
      socket.once('connect', () => {
        this.opened++
        resolve(socket)
      })
      socket.once('error', reject)
      socket.on('data', (chunk) => this.data(chunk))
      socket.on('close', () => {
        if (this.socket === socket) this.socket = null
        this.onError?.(new Error('connection closed'))
      })
      socket.on('error', (err) => this.onError?.(err))
    })
  }

  /**
   * @param {Buffer} request the whole request, head and body
   * @returns {Promise<{ status: number, body: Buffer, close: boolean }>}
   */
  async send(request) {
    if (!this.socket) {
      this.buffer = Buffer.alloc(0)
      this.socket = await this.connect()
    }
    const socket = this.socket
    return new Promise((resolve, reject) => {
      this.onResponse = (r) => {
        this.onResponse = null
        this.onError = null
        if (r.close) {
          socket.destroy()
          if (this.socket === socket) this.socket = null
        }
        resolve(r)
      }
      this.onError = (err) => {
        this.onResponse = null
        this.onError = null
        socket.destroy()
        if (this.socket === socket) this.socket = null
        reject(err)
      }
      socket.write(request)
    })
  }

  close() {
    this.socket?.destroy()
    this.socket = null
  }

  /** @param {Buffer} chunk */
  data(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    const headEnd = this.buffer.indexOf(CRLFCRLF)
    if (headEnd < 0) return
    const head = this.buffer.subarray(0, headEnd).toString('latin1')
    const status = Number(head.slice(9, 12))
    const lower = head.toLowerCase()
    const close = /\r\nconnection: *close/.test(lower)
    const start = headEnd + 4
    let body
    let end
    const length = /\r\ncontent-length: *(\d+)/.exec(lower)
    if (length) {
      end = start + Number(length[1])
      if (this.buffer.length < end) return
      body = this.buffer.subarray(start, end)
    } else if (/\r\ntransfer-encoding: *chunked/.test(lower)) {
      const parsed = dechunk(this.buffer, start)
      if (!parsed) return
      ;({ body, end } = parsed)
    } else {
      // No body (204, 304) or a body delimited by close; the servers measured here send neither.
      end = start
      body = Buffer.alloc(0)
    }
    this.buffer = this.buffer.subarray(end)
    this.onResponse?.({ status, body, close })
  }
}

/**
 * @param {Buffer} buf @param {number} at
 * @returns {{ body: Buffer, end: number } | null}
 */
function dechunk(buf, at) {
  /** @type {Buffer[]} */
  const parts = []
  let pos = at
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos)
    if (lineEnd < 0) return null
    const size = Number.parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16)
    const dataStart = lineEnd + 2
    if (size === 0) {
      const end = buf.indexOf(CRLFCRLF, lineEnd)
      return end < 0 ? null : { body: Buffer.concat(parts), end: end + 4 }
    }
    if (buf.length < dataStart + size + 2) return null
    parts.push(buf.subarray(dataStart, dataStart + size))
    pos = dataStart + size + 2
  }
}

/**
 * The bytes of one request.
 * @param {string} host @param {number} port
 * @param {{ method: string, path: string, headers?: Record<string, string>, body?: Buffer | string }} spec
 */
export function requestBytes(host, port, spec) {
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body)
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\nhost: ${host}:${port}\r\n`
  for (const [k, v] of Object.entries(spec.headers ?? {})) head += `${k}: ${v}\r\n`
  if (body !== undefined) {
    if (!Object.keys(spec.headers ?? {}).some((k) => k.toLowerCase() === 'content-type')) {
      head += 'content-type: application/json\r\n'
    }
    head += `content-length: ${body.length}\r\n`
  }
  head += '\r\n'
  return body === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body])
}
