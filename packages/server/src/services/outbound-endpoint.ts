import { InvalidParameter } from '../errors.js'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * A URL the server sends a secret to (an upstream token endpoint, a cloud's STS): https, or plain
 * http only on a loopback address (a sidecar or a test server), never with credentials or a
 * fragment in the URL. Answers the URL normalized.
 */
export function checkOutboundEndpoint(value: string, field: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidParameter(field, 'must be an absolute URL')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new InvalidParameter(field, 'must use https (plain http only on a loopback address)')
  }
  if (url.username !== '' || url.password !== '')
    throw new InvalidParameter(field, 'must not carry credentials')
  if (url.hash !== '') throw new InvalidParameter(field, 'must not have a fragment')
  return url
}
