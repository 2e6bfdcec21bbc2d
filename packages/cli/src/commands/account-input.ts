import { basename } from 'node:path'
import type { SshKeyInput } from '@strongroom/protocol'
import { Option } from 'commander'
import type { Context } from '../context.js'
import { CliError, UsageError } from '../errors.js'
import { readSecretFile, readSecretInput, readTextFile } from '../read-secret.js'

/** Where an account's password comes from: never an argument. */
export interface PasswordInputOptions {
  /** `--password`: from stdin, or a hidden prompt on a terminal. */
  password?: boolean
  passwordFile?: string
}

/** Where an account's SSH key and its passphrase come from: files, stdin or a prompt, never arguments. */
export interface KeyInputOptions {
  keyFile?: string
  /** `--passphrase`: from stdin, or a hidden prompt on a terminal. */
  passphrase?: boolean
  passphraseFile?: string
  fileName?: string
}

export const passwordFileOption = () =>
  new Option('--password-file <path>', 'read the password from PATH, or - for stdin')

export const keyInputOptions = (): Option[] => [
  new Option('--passphrase-file <path>', "read the key's passphrase from PATH"),
  new Option('--passphrase', "read the key's passphrase from stdin, or a hidden prompt on a terminal"),
  new Option('--file-name <name>', 'the file name the key is kept under (default: the name of --key-file)'),
]

/** Reads the password from its file, or stdin, or a hidden prompt; it is kept out of error lines. */
export async function readPassword(ctx: Context, file: string | undefined): Promise<string> {
  const password = await readSecretInput({
    file,
    stdin: ctx.io.stdin,
    stderr: ctx.io.stderr,
    prompt: 'Password: ',
    what: 'password',
  })
  ctx.rememberSecret(password)
  return password
}

/** Reads the key from `--key-file` and its passphrase as the options say. */
export async function readSshKey(
  ctx: Context,
  options: KeyInputOptions & { keyFile: string },
): Promise<SshKeyInput> {
  const key = await readTextFile(options.keyFile, '--key-file')
  if (key.trim() === '') throw new CliError('InputInvalid', `--key-file ${options.keyFile} is empty`)
  ctx.rememberSecret(key)
  let passphrase: string | undefined
  if (options.passphraseFile !== undefined) {
    passphrase = await readSecretFile(options.passphraseFile, '--passphrase-file')
  } else if (options.passphrase === true) {
    passphrase = await readSecretInput({
      stdin: ctx.io.stdin,
      stderr: ctx.io.stderr,
      prompt: 'Passphrase: ',
      what: 'passphrase',
    })
  }
  if (passphrase !== undefined) ctx.rememberSecret(passphrase)
  return {
    key,
    ...(passphrase === undefined ? {} : { passphrase }),
    fileName: options.fileName ?? basename(options.keyFile),
  }
}

/** Checks, before anything is read, that the key options fit together and at most one secret uses stdin. */
export function checkSecretOptions(password: PasswordInputOptions, key: KeyInputOptions): void {
  if (key.keyFile === undefined) {
    for (const [given, flag] of [
      [key.passphrase, '--passphrase'],
      [key.passphraseFile, '--passphrase-file'],
      [key.fileName, '--file-name'],
    ] as const)
      if (given !== undefined) throw new UsageError(`${flag} needs --key-file`)
  }
  if (key.passphrase === true && key.passphraseFile !== undefined)
    throw new UsageError('give --passphrase or --passphrase-file, not both')
  if (password.password === true && password.passwordFile !== undefined)
    throw new UsageError('give --password or --password-file, not both')
  const passwordOnStdin = password.password === true || password.passwordFile === '-'
  if (passwordOnStdin && key.passphrase === true)
    throw new UsageError('only one secret can come from stdin: use --password-file or --passphrase-file')
}
