import { readFileSync } from 'node:fs'
import { rootCertificates } from 'node:tls'
import { ConfigurationError } from '../errors.js'

/** Where extra trusted certificate authorities come from. */
export interface CaBundleOptions {
  /** PEM text of one or more CA certificates. */
  ca?: string | readonly string[] | undefined
  /** A PEM file of CA certificates, e.g. the one the client configuration names. */
  caFile?: string | undefined
}

/**
 * The trusted CAs for TLS when a custom bundle is configured: Node's built-in roots plus the given
 * certificates (so a private PAM server's CA does not stop public endpoints from verifying), or
 * `undefined` when none is configured. A missing, unreadable or non-PEM file is a
 * `ConfigurationError` naming the file.
 */
export function loadCaBundle(options: CaBundleOptions): string[] | undefined {
  const extra: string[] = []
  if (options.ca !== undefined) {
    for (const pem of typeof options.ca === 'string' ? [options.ca] : options.ca) {
      extra.push(...certificatesIn(pem, 'the ca option'))
    }
  }
  if (options.caFile !== undefined) {
    let text: string
    try {
      text = readFileSync(options.caFile, 'utf8')
    } catch (cause) {
      throw new ConfigurationError(`cannot read the CA bundle ${options.caFile}`, { cause })
    }
    extra.push(...certificatesIn(text, options.caFile))
  }
  return extra.length === 0 ? undefined : [...rootCertificates, ...extra]
}

function certificatesIn(pem: string, source: string): string[] {
  const found = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)
  if (!found) throw new ConfigurationError(`${source} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
  return found
}
