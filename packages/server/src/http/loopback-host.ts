/**
 * Whether a host (a listening address, or a request's host name) is this machine's loopback
 * only: `localhost` and its subdomains, 127.0.0.0/8 or ::1, with or without IPv6 brackets.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  return (
    bare === 'localhost' ||
    bare.endsWith('.localhost') ||
    /^127(?:\.\d{1,3}){3}$/.test(bare) ||
    /^(?:0{0,4}:){2,7}0{0,3}1$/.test(bare) ||
    bare === '::ffff:127.0.0.1'
  )
}
