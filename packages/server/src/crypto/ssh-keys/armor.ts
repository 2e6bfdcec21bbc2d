import { SshKeyError } from './errors.js'

/** How the private key is encoded: the OpenSSH format, or one of the three PEM encodings. */
export type SshKeyFormat = 'openssh' | 'pkcs8' | 'pkcs1' | 'sec1'

/** A private key taken out of its text armor, with nothing before or after it. */
export interface ArmoredKey {
  readonly format: SshKeyFormat
  /** The PEM label, e.g. `RSA PRIVATE KEY`. */
  readonly label: string
  /** RFC 1421 headers (`Proc-Type`, `DEK-Info`) of legacy-encrypted PKCS#1 and SEC1 keys. */
  readonly headers: ReadonlyMap<string, string>
  /** The base64 body, without whitespace. */
  readonly base64: string
  /** Whether the armor alone says it is encrypted (OpenSSH keys say so inside their body). */
  readonly encryptedByArmor: boolean
}

/** Texts larger than this are refused before any parsing (an RSA-16384 PEM key is about 13 KiB). */
export const MAX_KEY_TEXT_CHARS = 64 * 1024

const FORMAT_BY_LABEL: Readonly<Record<string, SshKeyFormat>> = {
  'OPENSSH PRIVATE KEY': 'openssh',
  'PRIVATE KEY': 'pkcs8',
  'ENCRYPTED PRIVATE KEY': 'pkcs8',
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
}

/**
 * Finds the private key block in `text` and says what format it is, or throws an
 * `UnrecognisedKeyFormat` error that names what the text looks like instead.
 */
export function unarmor(text: string): ArmoredKey {
  if (text.length > MAX_KEY_TEXT_CHARS) throw unrecognised('the text is too large to be a private key')
  const begin = /-----BEGIN ([A-Z0-9 ]{1,40})-----/.exec(text)
  if (begin === null) throw unrecognised(describeUnarmored(text))
  const label = begin[1]!
  const format = FORMAT_BY_LABEL[label]
  if (label === 'DSA PRIVATE KEY')
    throw new SshKeyError('UnsupportedKeyType', 'DSA keys are not supported: use Ed25519, RSA or ECDSA')
  if (format === undefined) throw unrecognised(describeLabel(label))
  const bodyStart = begin.index + begin[0].length
  const end = text.indexOf(`-----END ${label}-----`, bodyStart)
  if (end < 0) throw new SshKeyError('MalformedKey', `the ${label} block has no END line (truncated?)`)
  const lines = text.slice(bodyStart, end).split(/\r?\n|\r/)
  const headers = new Map<string, string>()
  const canHaveHeaders = format === 'pkcs1' || format === 'sec1'
  let first = 0
  while (first < lines.length && lines[first]!.trim() === '') first++
  if (canHaveHeaders && lines[first]?.includes(':')) {
    for (; first < lines.length && lines[first]!.trim() !== ''; first++) {
      const line = lines[first]!
      const colon = line.indexOf(':')
      if (colon < 0) throw new SshKeyError('MalformedKey', `the ${label} block has a malformed header`)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
    }
  }
  const base64 = lines.slice(first).join('').replace(/[ \t]/g, '')
  if (base64.length === 0 || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64))
    throw new SshKeyError('MalformedKey', `the ${label} block is not valid base64 (damaged or truncated?)`)
  const encryptedByArmor =
    label === 'ENCRYPTED PRIVATE KEY' || /^4,\s*ENCRYPTED$/i.test(headers.get('proc-type') ?? '')
  return { format, label, headers, base64, encryptedByArmor }
}

/** The block as canonical PEM text (64-column body), for `node:crypto`. */
export function toPem(key: ArmoredKey): string {
  const headerLines = [...key.headers].map(([name, value]) => `${canonicalHeaderName(name)}: ${value}\n`)
  const body = key.base64.match(/.{1,64}/g)!.join('\n')
  const headerBlock = headerLines.length > 0 ? `${headerLines.join('')}\n` : ''
  return `-----BEGIN ${key.label}-----\n${headerBlock}${body}\n-----END ${key.label}-----\n`
}

function canonicalHeaderName(name: string): string {
  return name === 'proc-type' ? 'Proc-Type' : name === 'dek-info' ? 'DEK-Info' : name
}

function describeLabel(label: string): string {
  if (label.includes('PUBLIC KEY')) return `this is a public key (${label}), not a private key`
  if (label.includes('CERTIFICATE')) return `this is a certificate (${label}), not a private key`
  return `"${label}" blocks are not a supported private key format`
}

function describeUnarmored(text: string): string {
  const start = text.trimStart()
  if (start.startsWith('PuTTY-User-Key-File-'))
    return 'PuTTY .ppk keys are not supported: export the key in OpenSSH format (puttygen key.ppk -O private-openssh)'
  if (start.startsWith('---- BEGIN SSH2'))
    return 'SSH2 (RFC 4716 / ssh.com) keys are not supported: convert the key with ssh-keygen -i'
  if (/^(ssh-|ecdsa-|sk-)[a-z0-9@.-]+ +AAAA/.test(start))
    return 'this is an SSH public key, not a private key'
  return 'the text is not a PEM or OpenSSH private key (no -----BEGIN … PRIVATE KEY----- line)'
}

function unrecognised(message: string): SshKeyError {
  return new SshKeyError('UnrecognisedKeyFormat', message)
}
