import { randomBytes } from 'node:crypto'
import { rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type { Context } from '../context.js'
import { writeTemporary } from '../credential-endpoints/atomic-file.js'
import { CliError } from '../errors.js'

/** `--out FILE`: where a command writes the secret instead of stdout. */
export interface SecretOutputOptions {
  out?: string
}

/**
 * Writes a secret to stdout, or with `--out` to a file readable by its owner only (0600). The file
 * is written beside its final name and renamed over it, so a reader never sees half a secret and a
 * file that existed with a looser mode ends up 0600 too. The secret never reaches stderr.
 */
export async function writeSecret(ctx: Context, text: string, options: SecretOutputOptions): Promise<void> {
  ctx.rememberSecret(text)
  if (options.out === undefined) {
    await ctx.out.write(text.endsWith('\n') ? text : `${text}\n`)
    return
  }
  const target = resolve(ctx.io.cwd, options.out)
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    // 0600 set on the open file, never by path (a chmod by path after close follows a link put there).
    await writeTemporary(temporary, text.endsWith('\n') ? text : `${text}\n`)
    await rename(temporary, target)
  } catch (err) {
    await rm(temporary, { force: true })
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new CliError('OutputUnwritable', `cannot write ${options.out}: ${code}`, { cause: err })
  }
  ctx.out.note(`written to ${options.out} (mode 0600)`)
}
