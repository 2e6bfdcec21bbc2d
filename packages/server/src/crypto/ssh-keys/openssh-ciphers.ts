import { createDecipheriv } from 'node:crypto'
import { openSshChaChaPolyDecrypt } from './chacha20-poly1305.js'

/** A cipher OpenSSH may protect a private key with (its cipher.c table, key-file relevant columns). */
export interface OpenSshCipher {
  readonly name: string
  readonly keyBytes: number
  /** Bytes of IV taken from the KDF output after the key. */
  readonly ivBytes: number
  /** The private section's length is a multiple of this. */
  readonly blockBytes: number
  /** Bytes of authentication tag after the encrypted section (AEAD ciphers). */
  readonly tagBytes: number
  /**
   * The plaintext, or `undefined` when an AEAD tag does not verify (for key files: almost always a
   * wrong passphrase).
   */
  decrypt(key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer): Buffer | undefined
}

function nodeCipher(name: string, nodeName: string, keyBytes: number, blockBytes: number): OpenSshCipher {
  return {
    name,
    keyBytes,
    ivBytes: blockBytes,
    blockBytes,
    tagBytes: 0,
    decrypt(key, iv, ciphertext) {
      const decipher = createDecipheriv(nodeName, key, iv).setAutoPadding(false)
      return Buffer.concat([decipher.update(ciphertext), decipher.final()])
    },
  }
}

function gcm(name: string, nodeName: 'aes-128-gcm' | 'aes-256-gcm', keyBytes: number): OpenSshCipher {
  return {
    name,
    keyBytes,
    ivBytes: 12,
    blockBytes: 16,
    tagBytes: 16,
    decrypt(key, iv, ciphertext, tag) {
      const decipher = createDecipheriv(nodeName, key, iv, { authTagLength: 16 }).setAuthTag(tag)
      const plaintext = decipher.update(ciphertext)
      try {
        decipher.final()
      } catch {
        plaintext.fill(0)
        return undefined
      }
      return plaintext
    },
  }
}

const CIPHERS: readonly OpenSshCipher[] = [
  { name: 'none', keyBytes: 0, ivBytes: 0, blockBytes: 8, tagBytes: 0, decrypt: (_k, _i, data) => data },
  nodeCipher('aes128-ctr', 'aes-128-ctr', 16, 16),
  nodeCipher('aes192-ctr', 'aes-192-ctr', 24, 16),
  nodeCipher('aes256-ctr', 'aes-256-ctr', 32, 16),
  nodeCipher('aes128-cbc', 'aes-128-cbc', 16, 16),
  nodeCipher('aes192-cbc', 'aes-192-cbc', 24, 16),
  nodeCipher('aes256-cbc', 'aes-256-cbc', 32, 16),
  gcm('aes128-gcm@openssh.com', 'aes-128-gcm', 16),
  gcm('aes256-gcm@openssh.com', 'aes-256-gcm', 32),
  {
    name: 'chacha20-poly1305@openssh.com',
    keyBytes: 64,
    ivBytes: 0,
    blockBytes: 8,
    tagBytes: 16,
    decrypt: (key, _iv, ciphertext, tag) => openSshChaChaPolyDecrypt(key, ciphertext, tag),
  },
]

/** The names of the ciphers this module decrypts, for messages and documentation. */
export const SUPPORTED_OPENSSH_CIPHERS: readonly string[] = CIPHERS.map((cipher) => cipher.name)

export function openSshCipherByName(name: string): OpenSshCipher | undefined {
  return CIPHERS.find((cipher) => cipher.name === name)
}
