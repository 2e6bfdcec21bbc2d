import type { CredentialType, CredentialValue } from '@strongroom/protocol'
import { Option } from 'commander'
import type { Context } from '../context.js'
import { buildCredentialValue, SECRET_INPUT, type ValueOptions } from '../credential-value.js'
import { readSecretFile, readSecretInput, readTextFile, stripOneTrailingNewline } from '../read-secret.js'

export interface ValueInputOptions extends ValueOptions {
  valueFile?: string
}

/** The options that say where a credential value comes from; never the value itself. */
export const valueInputOptions = (): Option[] => [
  new Option(
    '--value-file <path>',
    'read the secret from PATH, or - for stdin (default: stdin, or a hidden prompt on a terminal)',
  ),
  new Option('--client-id <id>', 'the client id (oauth_client)'),
  new Option('--username <name>', 'the user name (password)'),
  new Option('--passphrase-file <path>', "read the private key's passphrase from PATH (ssh_key)"),
  new Option('--public-key-file <path>', 'read the public key from PATH (ssh_key)'),
]

/** Reads the secret and its companions as the options say and builds the `value` object. */
export async function readCredentialValue(
  ctx: Context,
  type: CredentialType,
  options: ValueInputOptions,
): Promise<CredentialValue> {
  const input = SECRET_INPUT[type]
  const secret = await readSecretInput({
    file: options.valueFile,
    stdin: ctx.io.stdin,
    stderr: ctx.io.stderr,
    prompt: input.prompt,
    what: input.what,
    exact: input.exact,
  })
  ctx.rememberSecret(secret)
  const passphrase =
    options.passphraseFile === undefined
      ? undefined
      : await readSecretFile(options.passphraseFile, '--passphrase-file')
  if (passphrase !== undefined) ctx.rememberSecret(passphrase)
  const publicKey =
    options.publicKeyFile === undefined
      ? undefined
      : stripOneTrailingNewline(await readTextFile(options.publicKeyFile, '--public-key-file'))
  return buildCredentialValue(type, secret, {
    clientId: options.clientId,
    username: options.username,
    passphrase,
    publicKey: publicKey === '' ? undefined : publicKey,
  })
}
