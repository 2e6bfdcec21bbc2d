import { readFile } from 'node:fs/promises'
import { CliError, UsageError } from './errors.js'
import { promptHidden } from './hidden-prompt.js'
import type { InputStream, OutputStream } from './io.js'

export interface SecretInput {
  /** `--value-file`: a path, or `-` for stdin. */
  file?: string | undefined
  stdin: InputStream
  stderr: OutputStream
  /** The prompt for hidden terminal input, e.g. `API key: `. */
  prompt: string
  /** What is read, for messages: `API key`, `SSH private key`. */
  what: string
  /**
   * Keep the content exactly (an SSH private key): no trailing newline stripped, and no prompt,
   * since a key has several lines.
   */
  exact?: boolean
}

/**
 * Reads a secret value: from `file`, from stdin when `file` is `-` or stdin is not a terminal,
 * otherwise from a hidden prompt on stderr. Never from an argument. One trailing newline is
 * stripped (unless `exact`); an empty value is an error.
 */
export async function readSecretInput(input: SecretInput): Promise<string> {
  let raw: string
  if (input.file !== undefined && input.file !== '-') {
    raw = await readTextFile(input.file, '--value-file')
  } else if (input.file === '-' || input.stdin.isTTY !== true) {
    raw = await readAll(input.stdin)
  } else if (input.exact) {
    throw new UsageError(`give the ${input.what} with --value-file PATH or on stdin`)
  } else {
    raw = await promptHidden(input.prompt, input.stdin, input.stderr)
  }
  const value = input.exact ? raw : stripOneTrailingNewline(raw)
  if (value === '') throw new CliError('InputInvalid', `the ${input.what} is empty`)
  return value
}

/** Removes one `\n` or `\r\n` from the end, as editors and `echo` add one. */
export function stripOneTrailingNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2)
  if (text.endsWith('\n')) return text.slice(0, -1)
  return text
}

/** Reads a whole stream as UTF-8. */
export async function readAll(stream: InputStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8')
}

/** Reads a file named by an option; the message names the option and the path, never the content. */
export async function readTextFile(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new CliError('InputUnreadable', `cannot read ${option} ${path}: ${code}`)
  }
}

/** A small secret file (`--passphrase-file`): content minus one trailing newline, not empty. */
export async function readSecretFile(path: string, option: string): Promise<string> {
  const value = stripOneTrailingNewline(await readTextFile(path, option))
  if (value === '') throw new CliError('InputInvalid', `${option} ${path} is empty`)
  return value
}
