import type { SshKeyFacts, SshKeyInput } from '@strongroom/protocol'
import {
  DEFAULT_MAX_KDF_ROUNDS,
  inspectSshPrivateKey,
  readSshPrivateKeyAsync,
  SshKeyError,
  type SshKeyMetadata,
  type SshPrivateKey,
} from '../../crypto/ssh-keys/index.js'
import { InvalidParameter } from '../../errors.js'
import type { SealedSshKey } from './account-secrets.js'

/** An uploaded key once checked: what is sealed, its public facts, and whether `decrypt: true` can work. */
export interface CheckedSshKey {
  sealed: SealedSshKey
  facts: SshKeyFacts
  supported: boolean
}

/** The request fields an error names: an account's `sshKey.key`, a credential's `value.privateKey`. */
export interface SshKeyFields {
  key: string
  passphrase: string
}

const ACCOUNT_FIELDS: SshKeyFields = { key: 'sshKey.key', passphrase: 'sshKey.passphrase' }

/**
 * Checks an SSH private key at store time, so a retrieval never meets a key that is not one. Accounts
 * and `ssh_key` credentials both call it; `fields` names their fields (an account's by default):
 *
 * - not a private key this server reads → 400 on `sshKey.key`;
 * - a passphrase for an unencrypted key, or a wrong one for a key it can decrypt → 400 on `sshKey.passphrase`;
 * - an OpenSSH key encrypted without its passphrase, or with a cipher the server cannot decrypt →
 *   kept as it is, not supported (handed out as stored, never decrypted); its public key is in the clear;
 * - an encrypted PEM key shows no public key until decrypted, so it needs a passphrase that works;
 * - an OpenSSH key asking for more than `DEFAULT_MAX_KDF_ROUNDS` bcrypt rounds, with its passphrase →
 *   400 on `sshKey.key`, before any KDF work.
 *
 * Call it once the caller is authorized, and outside any transaction: the KDF (bcrypt rounds, PBKDF2,
 * scrypt) costs up to a second or two of CPU, spent on a worker thread, never the event loop. Messages
 * come from the SSH key module, which never puts key material or the passphrase in them.
 */
export async function checkSshKey(
  input: SshKeyInput,
  fields: SshKeyFields = ACCOUNT_FIELDS,
): Promise<CheckedSshKey> {
  const invalid = (field: keyof SshKeyFields, rule: string) =>
    new InvalidParameter(fields[field], rule, 'InvalidParameter.SshKey')
  const { key, passphrase, fileName } = input
  const meta = describe(key, invalid)
  const sealed: SealedSshKey = {
    key,
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(fileName === undefined ? {} : { fileName }),
  }
  const base = { format: meta.format === 'openssh' ? 'openssh' : 'pem', fileName: fileName ?? null } as const
  if (!meta.encrypted && passphrase !== undefined)
    throw invalid('passphrase', 'must not be given: the key is not encrypted')
  if (meta.encrypted && (passphrase === undefined || !meta.cipherSupported)) {
    if (meta.publicKeyOpenSsh === undefined || meta.fingerprint === undefined) {
      throw passphrase === undefined
        ? invalid(
            'passphrase',
            'is required for an encrypted PEM key: its public key is known only once decrypted',
          )
        : invalid(
            'key',
            'is an encrypted PEM key whose cipher this server cannot decrypt; re-encrypt it (ssh-keygen -p)',
          )
    }
    return {
      sealed,
      facts: {
        ...base,
        ...publicFacts(meta.publicKeyOpenSsh),
        fingerprint: meta.fingerprint,
        encrypted: true,
      },
      supported: false,
    }
  }
  if (meta.kdfRounds !== undefined && meta.kdfRounds > DEFAULT_MAX_KDF_ROUNDS) {
    throw invalid(
      'key',
      `asks for ${meta.kdfRounds} bcrypt rounds, more than the ${DEFAULT_MAX_KDF_ROUNDS} this server ` +
        'accepts; re-encrypt it with fewer (ssh-keygen -p -a 16)',
    )
  }
  const opened = await open(key, passphrase, invalid)
  return {
    sealed: opened.isKeySupported ? { ...sealed, ...decrypted(opened) } : sealed,
    facts: {
      ...base,
      ...publicFacts(opened.publicKeyOpenSsh),
      fingerprint: opened.fingerprint,
      encrypted: opened.encrypted,
    },
    supported: opened.isKeySupported,
  }
}

/** What `decrypt: true` answers from, so a retrieval costs no KDF. */
function decrypted(key: SshPrivateKey): Pick<SealedSshKey, 'pem' | 'comment'> {
  return { pem: key.privateKeyPem, ...(key.comment === undefined ? {} : { comment: key.comment }) }
}

type Invalid = (field: keyof SshKeyFields, rule: string) => InvalidParameter

function describe(key: string, invalid: Invalid): SshKeyMetadata {
  try {
    return inspectSshPrivateKey(key)
  } catch (error) {
    if (error instanceof SshKeyError)
      throw invalid('key', `is not an SSH private key this server reads: ${error.message}`)
    throw error
  }
}

async function open(key: string, passphrase: string | undefined, invalid: Invalid): Promise<SshPrivateKey> {
  try {
    return await readSshPrivateKeyAsync(key, passphrase)
  } catch (error) {
    if (!(error instanceof SshKeyError)) throw error
    if (error.code === 'WrongPassphrase') throw invalid('passphrase', 'does not decrypt the key')
    throw invalid('key', `cannot be read: ${error.message}`)
  }
}

/**
 * `ssh-ed25519 AAAA…` without the comment: the comment of an OpenSSH key is inside its encrypted
 * part, so keeping it would make the same key's facts depend on whether its passphrase was given.
 */
function publicFacts(line: string): { keyType: string; publicKey: string } {
  const [keyType = '', blob = ''] = line.split(' ')
  return { keyType, publicKey: `${keyType} ${blob}` }
}
