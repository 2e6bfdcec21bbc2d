import { normalizedHtm, normalizedHtu } from '@strongroom/dpop'
import { invalidArgument } from './proof-error.js'

export { normalizedHtm, normalizedHtu }

/** `normalizedHtu` for a URL the caller gave: a `TypeError` when it is not absolute http(s). */
export function requestHtu(url: string | URL): string {
  const htu = normalizedHtu(url)
  if (htu === undefined) throw invalidArgument('url must be an absolute http: or https: URL')
  return htu
}

/** `normalizedHtm` for a method the caller gave: a `TypeError` when it is not an HTTP token. */
export function requestHtm(method: string): string {
  const htm = normalizedHtm(method)
  if (htm === undefined) throw invalidArgument('method must be an HTTP method token such as GET or POST')
  return htm
}
