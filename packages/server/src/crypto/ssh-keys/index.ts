// SSH private keys for privileged accounts: read OpenSSH and PEM private keys, and write unencrypted
// OpenSSH ones, with node:crypto only.
export type { SshKeyFormat } from './armor.js'
export { MAX_KEY_TEXT_CHARS } from './armor.js'
export { bcryptPbkdf } from './bcrypt-pbkdf.js'
export type { SshKeyErrorCode } from './errors.js'
export { SshKeyArgumentError, SshKeyError } from './errors.js'
export type { SshKeyMetadata } from './inspect-ssh-private-key.js'
export { inspectSshPrivateKey } from './inspect-ssh-private-key.js'
export type { ReadSshKeyOptions, SshKeyInput, SshPassphrase } from './key-input.js'
export {
  DEFAULT_MAX_KDF_ROUNDS,
  DEFAULT_MAX_PBKDF2_ITERATIONS,
  DEFAULT_MAX_SCRYPT_MEMORY_BYTES,
  DEFAULT_MAX_SCRYPT_N,
  DEFAULT_MAX_SCRYPT_P,
  DEFAULT_MAX_SCRYPT_R,
  DEFAULT_MIN_RSA_BITS,
  MAX_RSA_BITS,
} from './key-input.js'
export type { SshKeyType } from './key-types.js'
export { SUPPORTED_OPENSSH_CIPHERS } from './openssh-ciphers.js'
export { isSupportedSshKey, readSshPrivateKey } from './read-ssh-private-key.js'
export { readSshPrivateKeyAsync } from './read-ssh-private-key-async.js'
export { MAX_SSH_KEY_WORKERS } from './ssh-key-workers.js'
export type { SshKeyFacts } from './ssh-private-key.js'
export { SshPrivateKey } from './ssh-private-key.js'
export { sshFingerprint } from './ssh-public-key.js'
export type { WriteOpenSshKeyOptions } from './write-openssh-private-key.js'
export { writeOpenSshPrivateKey } from './write-openssh-private-key.js'
