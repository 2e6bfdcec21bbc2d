import { ServerError } from '../errors.js'
import { type AccountSummary, ObtainedPassword, SshKey } from './account-results.js'
import { ResponseReader } from './response-reader.js'

// Only the contract's fields are copied: an unknown field a server adds (possibly a secret) never
// rides along into an object that prints in full.

/** One page of ListAccounts. */
export interface AccountSummaryPage {
  readonly entities: readonly AccountSummary[]
  readonly nextToken: string | null
}

export function parseAccountSummaryPage(action: string, body: unknown): AccountSummaryPage {
  const r = new ResponseReader(action, body)
  const nextToken = r.optionalString('nextToken')
  return {
    entities: r.objects('entities').map((account) =>
      Object.freeze<AccountSummary>({
        id: account.string('id'),
        name: account.string('name'),
        displayName: account.string('displayName'),
        status: account.string('status'),
        requiresReason: account.boolean('requiresReason'),
        hasPassword: account.boolean('hasPassword'),
        hasKey: account.boolean('hasKey'),
        isKeySupported: account.boolean('isKeySupported'),
      }),
    ),
    nextToken: nextToken === undefined || nextToken === '' ? null : nextToken,
  }
}

export function parseObtainedPassword(action: string, body: unknown): ObtainedPassword {
  const r = new ResponseReader(action, body)
  return new ObtainedPassword(
    { accountId: r.string('accountId'), accountName: r.string('accountName'), version: r.number('version') },
    r.string('password'),
  )
}

/**
 * The key's usual file name as the server stores it, when it is a plain name; otherwise null, and
 * the key is answered all the same. A server (or a database row) answering `../x` or `/etc/x`
 * would otherwise choose where a caller who writes the key under `fileName` puts it, and one
 * answering `.bashrc` or `.profile` would overwrite a shell's start-up file when that folder is
 * the home folder: no empty name and no name starting with `.` (which covers `.` and `..`) either.
 * Left out rather than refused: a name stored before the server refused a leading dot would
 * otherwise make the key itself unreadable.
 */
function plainFileName(fileName: string | undefined): string | null {
  if (fileName === undefined) return null
  const plain =
    fileName !== '' &&
    !fileName.startsWith('.') &&
    fileName.length <= 255 &&
    !/[/\\\x00-\x1f\x7f]/.test(fileName)
  return plain ? fileName : null
}

export function parseSshKey(action: string, body: unknown): SshKey {
  const r = new ResponseReader(action, body)
  const decrypted = r.boolean('decrypted')
  const format = r.optionalString('format')
  if (format !== undefined && format !== 'pem' && format !== 'openssh')
    throw new ServerError(`${action} answered with an unexpected body: format is not pem or openssh`)
  return new SshKey(
    {
      accountId: r.string('accountId'),
      accountName: r.string('accountName'),
      version: r.number('version'),
      decrypted,
      // A server that predates `format` answers decrypted keys as PEM only.
      format: decrypted ? (format ?? 'pem') : null,
      fileName: plainFileName(r.optionalString('fileName')),
      keyType: r.string('keyType'),
      fingerprint: r.string('fingerprint'),
      publicKey: r.string('publicKey'),
    },
    r.string('key'),
    r.optionalString('passphrase') ?? null,
  )
}
