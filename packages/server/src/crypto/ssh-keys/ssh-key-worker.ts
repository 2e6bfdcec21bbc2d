// The entry of the worker threads that read encrypted SSH private keys (see ssh-key-workers.ts): the
// KDF (OpenSSH's bcrypt, PKCS#8's PBKDF2 or scrypt) runs here, never on the server's event loop.
import type { KeyObject } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import type { ReadSshKeyOptions } from './key-input.js'
import { readSshPrivateKey } from './read-ssh-private-key.js'
import type { SshKeyFacts } from './ssh-private-key.js'

export interface SshKeyWorkerRequest {
  readonly text: string
  /** Transferred, not copied, and zeroed here once used. */
  readonly passphrase: Uint8Array
  readonly options: Required<ReadSshKeyOptions>
}

export type SshKeyWorkerReply =
  | { readonly facts: SshKeyFacts; readonly privateKey: KeyObject }
  | { readonly error: { readonly name: string; readonly code?: string; readonly message: string } }

parentPort?.on('message', (request: SshKeyWorkerRequest) => {
  let reply: SshKeyWorkerReply
  try {
    const key = readSshPrivateKey(request.text, request.passphrase, request.options)
    const { privateKey: _redacted, privateKeyPem: _alsoRedacted, ...facts } = key.toJSON()
    // A KeyObject crosses threads as a clone of the key (node:crypto supports it).
    reply = { facts, privateKey: key.privateKey }
  } catch (error) {
    // The module's messages never hold key material or the passphrase.
    const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown }
    reply = {
      error: {
        name: typeof name === 'string' ? name : 'Error',
        message: typeof message === 'string' ? message : 'the key could not be read',
        ...(typeof code === 'string' ? { code } : {}),
      },
    }
  } finally {
    request.passphrase.fill(0)
  }
  parentPort?.postMessage(reply)
})
