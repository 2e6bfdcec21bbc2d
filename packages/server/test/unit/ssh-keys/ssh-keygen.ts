// Helpers that make real keys with ssh-keygen and openssl in a temporary directory, and ask
// ssh-keygen what it thinks of them, for the SSH key tests to compare against.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const PASSPHRASE = 'correct horse battery staple'

export type SshKeygenType = 'ed25519' | 'rsa' | 'ecdsa-256' | 'ecdsa-384' | 'ecdsa-521'

export interface KeyDir {
  readonly path: string
  /** Generates an unencrypted OpenSSH key and returns its path. */
  generate(name: string, type: SshKeygenType, comment?: string): string
  /**
   * Copies `source` to `name` and rewrites it with `ssh-keygen -p`: new passphrase (or none), and
   * optionally another file format, cipher or KDF rounds.
   */
  rewrite(source: string, name: string, how: RewriteOptions): string
  /** Runs openssl with the arguments, in the directory. */
  openssl(...args: string[]): void
  read(file: string): string
  write(name: string, text: string): string
  /** `ssh-keygen -y`: the base64 blob of the public key. */
  publicBlob(file: string, passphrase?: string): string
  /** `ssh-keygen -l -E sha256` of the public key: `SHA256:…`. */
  fingerprint(file: string, passphrase?: string): string
  remove(): void
}

export interface RewriteOptions {
  readonly passphrase?: string
  readonly oldPassphrase?: string
  readonly format?: 'PEM' | 'PKCS8' | 'RFC4716'
  readonly cipher?: string
  readonly rounds?: number
}

export function makeKeyDir(): KeyDir {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-ssh-keys-'))
  const at = (name: string): string => join(dir, name)
  const run = (command: string, args: string[]): string =>
    execFileSync(command, args, { cwd: dir, input: '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
  const keyDir: KeyDir = {
    path: dir,
    generate(name, type, comment = `${name}@strongroom-test`) {
      const [algorithm, bits] = type.split('-') as [string, string | undefined]
      const size = algorithm === 'rsa' ? ['-b', '2048'] : bits === undefined ? [] : ['-b', bits]
      run('ssh-keygen', ['-q', '-t', algorithm, ...size, '-N', '', '-C', comment, '-f', at(name)])
      return at(name)
    },
    rewrite(source, name, how) {
      copyFileSync(source, at(name))
      const args = ['-q', '-p', '-f', at(name), '-P', how.oldPassphrase ?? '', '-N', how.passphrase ?? '']
      if (how.format !== undefined) args.push('-m', how.format)
      if (how.cipher !== undefined) args.push('-Z', how.cipher)
      if (how.rounds !== undefined) args.push('-a', String(how.rounds))
      run('ssh-keygen', args)
      return at(name)
    },
    openssl(...args) {
      run('openssl', args)
    },
    read: (file) => readFileSync(file, 'utf8'),
    write(name, text) {
      writeFileSync(at(name), text, { mode: 0o600 })
      return at(name)
    },
    publicBlob(file, passphrase = '') {
      return run('ssh-keygen', ['-y', '-P', passphrase, '-f', file]).split(' ')[1]!.trim()
    },
    fingerprint(file, passphrase = '') {
      const publicLine = run('ssh-keygen', ['-y', '-P', passphrase, '-f', file])
      const publicFile = keyDir.write(`fingerprint-${Math.random().toString(36).slice(2)}.pub`, publicLine)
      return run('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicFile]).split(' ')[1]!
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
  return keyDir
}
