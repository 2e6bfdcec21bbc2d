import { BlockList, isIP } from 'node:net'

/**
 * One parsed `NO_PROXY` entry. `*` bypasses every host; `example.com`, `.example.com` and
 * `*.example.com` match that domain and its subdomains; `host:port` only that port; an IP address
 * itself; `10.0.0.0/8` or `fd00::/8` the addresses in that range.
 */
type NoProxyEntry =
  | { kind: 'all' }
  | { kind: 'domain'; domain: string; port: string | undefined }
  | { kind: 'ip'; address: string; port: string | undefined }
  | { kind: 'cidr'; list: BlockList }

/** A parsed `NO_PROXY` list: {@link bypassesProxy} tells whether a URL goes direct. */
export interface NoProxyList {
  readonly entries: readonly NoProxyEntry[]
}

/**
 * Parses a `NO_PROXY` value (entries separated by commas or whitespace, case-insensitive).
 *
 * @example
 * ```ts
 * const list = parseNoProxy('localhost,.internal.example, 10.0.0.0/8, pam.example.com:8443')
 * bypassesProxy(new URL('https://vault.internal.example/'), list) // true
 * ```
 */
export function parseNoProxy(value: string | undefined): NoProxyList {
  const entries: NoProxyEntry[] = []
  for (const raw of (value ?? '').toLowerCase().split(/[\s,]+/)) {
    if (raw === '') continue
    if (raw === '*') {
      entries.push({ kind: 'all' })
      continue
    }
    const cidr = parseCidr(raw)
    if (cidr) {
      entries.push(cidr)
      continue
    }
    const { host, port } = splitHostPort(raw)
    if (isIP(host) !== 0) {
      entries.push({ kind: 'ip', address: host, port })
    } else {
      const domain = host.replace(/^\*?\.+/, '').replace(/\.$/, '')
      if (domain !== '') entries.push({ kind: 'domain', domain, port })
    }
  }
  return { entries }
}

/** Whether a request to `url` must skip the proxy according to `list`. */
export function bypassesProxy(url: URL, list: NoProxyList): boolean {
  const host = unbracket(url.hostname.toLowerCase()).replace(/\.$/, '')
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const family = isIP(host)
  for (const entry of list.entries) {
    switch (entry.kind) {
      case 'all':
        return true
      case 'cidr':
        if (family !== 0 && entry.list.check(host, family === 4 ? 'ipv4' : 'ipv6')) return true
        break
      case 'ip':
        if (host === entry.address && (entry.port === undefined || entry.port === port)) return true
        break
      case 'domain':
        if (
          (host === entry.domain || host.endsWith(`.${entry.domain}`)) &&
          (entry.port === undefined || entry.port === port)
        ) {
          return true
        }
        break
    }
  }
  return false
}

function splitHostPort(entry: string): { host: string; port: string | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] }
  // A bare IPv6 address has several colons and no port.
  if (isIP(entry) === 6) return { host: entry, port: undefined }
  const withPort = /^(.*):(\d+)$/.exec(entry)
  if (withPort) return { host: withPort[1]!, port: withPort[2] }
  return { host: entry, port: undefined }
}

function parseCidr(entry: string): NoProxyEntry | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(entry)
  if (!match) return undefined
  const address = unbracket(match[1]!)
  const family = isIP(address)
  const prefix = Number(match[2])
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return undefined
  const list = new BlockList()
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6')
  return { kind: 'cidr', list }
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}
