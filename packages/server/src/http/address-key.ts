import { isIPv4, isIPv6 } from 'node:net'

/**
 * The key an address's budget is kept under: an IPv4 address as it is, an IPv6 address as its
 * /64 prefix. One subscriber, one host, is routinely given a whole /64 (RFC 6177, and every cloud
 * VM's IPv6 allocation), so keyed by full address one client had 2^64 fresh budgets to spend.
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4 peers) is
 * its IPv4 address. Anything else (`unknown`, a name) is kept as it is.
 */
export function addressKey(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  const zoneless = bare.split('%', 1)[0]!
  if (!isIPv6(zoneless)) return address
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(zoneless)
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!
  const groups = expand(zoneless)
  return `${groups.slice(0, 4).join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address, lower-case and without leading zeros. */
function expand(address: string): string[] {
  let text = address.toLowerCase()
  // An embedded IPv4 tail (`::1.2.3.4`, `64:ff9b::1.2.3.4`) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const left = head ? head.split(':') : []
  const right = tail === undefined ? [] : tail ? tail.split(':') : []
  const missing = 8 - left.length - right.length
  const groups = tail === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right]
  return groups.map((g) => Number.parseInt(g, 16).toString(16))
}
