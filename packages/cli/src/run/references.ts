/**
 * The references `strongroom run` replaces with secrets: an environment value that starts with
 * `strongroom://` names what to fetch; any other value passes through unchanged.
 *
 * ```
 * reference    = "strongroom://" ( credential / account / provider )
 * credential   = "credential/" identifier [ "/" field ]
 * field        = "apiKey" / "clientId" / "clientSecret" / "password" / "username"
 *              / "privateKey" / "passphrase"
 * account      = "account/" account-name "/" ( "password" / "ssh-key" )
 * account-name = target "/" name  /  "acct_" id
 * provider     = "provider/" identifier "/oauth-token"
 * identifier   = segment *( "/" segment )       ; the server's rule: letters, digits . _ : -,
 *                                              ; starting with a letter or digit, no "." or ".."
 * ```
 *
 * Identifiers contain `/`, so a reference is read from its known shape, right to left: an account or
 * provider reference must end in its secret (`/password`, `/ssh-key`, `/oauth-token`), and a
 * credential reference is a field only when its last segment is one of the seven field names
 * (case-sensitive). A credential whose identifier itself ends in a field name (`team/password`) is
 * reached by naming the field: `strongroom://credential/team/password/apiKey`.
 */

export const REFERENCE_PREFIX = 'strongroom://'

/** The fields of ObtainCredential's answer a credential reference may name, by credential type. */
export const CREDENTIAL_FIELDS = [
  'apiKey',
  'clientId',
  'clientSecret',
  'password',
  'username',
  'privateKey',
  'passphrase',
] as const
export type CredentialField = (typeof CREDENTIAL_FIELDS)[number]

/** Fields that are not secret: injected, but not masked in the command's output. */
export const PUBLIC_CREDENTIAL_FIELDS: ReadonlySet<CredentialField> = new Set(['clientId', 'username'])

export type AccountSecret = 'password' | 'ssh-key'

export type SecretReference =
  | { readonly kind: 'credential'; readonly identifier: string; readonly field: CredentialField | undefined }
  | { readonly kind: 'account'; readonly account: string; readonly secret: AccountSecret }
  | { readonly kind: 'provider'; readonly identifier: string; readonly secret: 'oauth-token' }

/**
 * One request to the server. References that need the same request share it: a credential's
 * `apiKey` and its bare reference, or its `username` and `password`, are one ObtainCredential.
 */
export type SecretFetch =
  | { readonly kind: 'credential'; readonly identifier: string }
  | { readonly kind: 'account-password'; readonly account: string }
  | { readonly kind: 'account-ssh-key'; readonly account: string }
  | { readonly kind: 'provider-oauth-token'; readonly identifier: string }

/** A value that starts like a reference but is not one; the message never repeats a secret. */
export class MalformedReference extends Error {
  override name = 'MalformedReference'
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/
const isField = (text: string): text is CredentialField =>
  (CREDENTIAL_FIELDS as readonly string[]).includes(text)

/** Whether `value` is meant as a reference (starts with `strongroom://`). */
export function isReference(value: string): boolean {
  return value.startsWith(REFERENCE_PREFIX)
}

/**
 * The reference in `value`, or `undefined` when the value is not one (it passes through).
 * Throws `MalformedReference` for a value that starts with `strongroom://` and fits no shape.
 */
export function parseReference(value: string): SecretReference | undefined {
  if (!isReference(value)) return undefined
  const rest = value.slice(REFERENCE_PREFIX.length)
  const slash = rest.indexOf('/')
  const kind = slash === -1 ? rest : rest.slice(0, slash)
  const path = slash === -1 ? '' : rest.slice(slash + 1)
  switch (kind) {
    case 'credential':
      return parseCredential(path)
    case 'account':
      return parseAccount(path)
    case 'provider':
      return parseProvider(path)
    default:
      throw new MalformedReference(
        `unknown kind ${JSON.stringify(shorten(kind))}: expected strongroom://credential/…, strongroom://account/… or strongroom://provider/…`,
      )
  }
}

function parseCredential(path: string): SecretReference {
  const segments = checkedSegments(
    path,
    'credential identifier',
    'strongroom://credential/IDENTIFIER[/FIELD]',
  )
  const last = segments.at(-1)!
  const field = segments.length > 1 && isField(last) ? last : undefined
  const identifier = (field === undefined ? segments : segments.slice(0, -1)).join('/')
  return { kind: 'credential', identifier: checkedLength(identifier), field }
}

function parseAccount(path: string): SecretReference {
  const shape = 'strongroom://account/TARGET/ACCOUNT/password or …/ssh-key'
  const cut = path.lastIndexOf('/')
  const secret = cut === -1 ? '' : path.slice(cut + 1)
  if (secret !== 'password' && secret !== 'ssh-key') {
    throw new MalformedReference(`an account reference ends in /password or /ssh-key: ${shape}`)
  }
  const account = path.slice(0, cut)
  const parts = account.split('/')
  const wellFormed =
    parts.every((p) => p !== '' && p !== '.' && p !== '..' && !/[\s\u0000-\u001f\u007f]/.test(p)) &&
    (parts.length === 2 || (parts.length === 1 && parts[0]!.startsWith('acct_')))
  if (!wellFormed) {
    throw new MalformedReference(`an account is TARGET/ACCOUNT (or its acct_… id): ${shape}`)
  }
  return { kind: 'account', account, secret }
}

function parseProvider(path: string): SecretReference {
  const shape = 'strongroom://provider/IDENTIFIER/oauth-token'
  const suffix = '/oauth-token'
  if (!path.endsWith(suffix))
    throw new MalformedReference(`a provider reference ends in /oauth-token: ${shape}`)
  const segments = checkedSegments(path.slice(0, -suffix.length), 'provider identifier', shape)
  return { kind: 'provider', identifier: checkedLength(segments.join('/')), secret: 'oauth-token' }
}

function checkedSegments(path: string, what: string, shape: string): string[] {
  const segments = path.split('/')
  if (path === '' || !segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..')) {
    throw new MalformedReference(
      `the ${what} must be segments of letters, digits, . _ : - separated by single slashes: ${shape}`,
    )
  }
  return segments
}

/** Identifiers are at most 128 characters (docs/input-rules.md). */
function checkedLength(identifier: string): string {
  if (identifier.length > 128) throw new MalformedReference('the identifier is longer than 128 characters')
  return identifier
}

/** The request a reference needs. */
export function fetchOf(reference: SecretReference): SecretFetch {
  switch (reference.kind) {
    case 'credential':
      return { kind: 'credential', identifier: reference.identifier }
    case 'account':
      return reference.secret === 'password'
        ? { kind: 'account-password', account: reference.account }
        : { kind: 'account-ssh-key', account: reference.account }
    case 'provider':
      return { kind: 'provider-oauth-token', identifier: reference.identifier }
  }
}

/** A key identifying a request, for de-duplication: equal keys are one request. */
export function fetchKey(fetch: SecretFetch): string {
  return fetch.kind === 'credential' || fetch.kind === 'provider-oauth-token'
    ? `${fetch.kind}\u0000${fetch.identifier}`
    : `${fetch.kind}\u0000${fetch.account}`
}

/** How a reference is shown in messages: its canonical form, which names no secret. */
export function formatReference(reference: SecretReference): string {
  switch (reference.kind) {
    case 'credential':
      return `${REFERENCE_PREFIX}credential/${reference.identifier}${reference.field === undefined ? '' : `/${reference.field}`}`
    case 'account':
      return `${REFERENCE_PREFIX}account/${reference.account}/${reference.secret}`
    case 'provider':
      return `${REFERENCE_PREFIX}provider/${reference.identifier}/oauth-token`
  }
}

/** Whether the value a reference names is secret (masked in the output), or public (a client id, a username). */
export function isSecretReference(reference: SecretReference): boolean {
  return !(
    reference.kind === 'credential' &&
    reference.field !== undefined &&
    PUBLIC_CREDENTIAL_FIELDS.has(reference.field)
  )
}

/**
 * A value that looked like a reference, fit for a message: control characters flattened and cut to
 * a length, since a malformed reference was not checked against any grammar.
 */
export function shownValue(value: string): string {
  return shorten(value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'))
}

function shorten(text: string, max = 160): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}
