// A second local web site for the cross-site request forgery tests: a plain node:http server on its
// own address and port that serves one page of the test's choosing (no CSP, so its inline script
// runs, as an attacker's page would).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface AttackerSite {
  /** `http://HOST:PORT`, no trailing slash. */
  readonly url: string
  close(): Promise<void>
}

/** What the site answers to one path. */
export interface AttackerAnswer {
  readonly contentType: string
  readonly body: string
}

/**
 * Serves `html` at every path of `http://host:<free port>` (or what `answer` says for a path).  `127.0.0.2` is another site than the
 * console on `127.0.0.1` (an IP address is its own site); `127.0.0.1` on another port is the same
 * site but another origin, where a SameSite=Strict cookie still goes and only the CSRF proof and
 * the Origin check stand in the way.
 */
export async function startAttackerSite(
  host: string,
  html: (url: string) => string,
  answer: (path: string) => AttackerAnswer | undefined = () => undefined,
): Promise<AttackerSite> {
  let url = ''
  const server = createServer((request, response) => {
    request.resume()
    const path = new URL(request.url ?? '/', 'http://attacker').pathname
    const special = answer(path)
    response.writeHead(200, {
      'content-type': special?.contentType ?? 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // Anyone may load it: only the victim's own policy can stand in the way.
      'access-control-allow-origin': '*',
    })
    response.end(special?.body ?? html(url))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  url = `http://${host}:${port}`
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
