import { ApiError, CliError } from './errors.js'
import { INVISIBLE_CONTROLS, unicodeEscape } from './safe-text.js'

const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g
/** Secrets shorter than this are not redacted: replacing one or two characters would garble a message. */
const MIN_REDACTED_LENGTH = 4

/**
 * Formats any error as the single stderr line the CLI prints, e.g.
 * `strongroom: CredentialNotFound: no such credential (request req_…)`.
 * Control characters are flattened so a server message cannot break the line or drive the
 * terminal, bidirectional controls are written `\u202e` so it cannot reorder the line, and any
 * of `secrets` found in the text is replaced, as a last line of defence.
 */
export function formatError(error: unknown, secrets: Iterable<string> = []): string {
  return `strongroom: ${oneLine(redact(describe(error), secrets))}`
}

function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const details: string[] = []
    if (error.field !== undefined) details.push(`field ${error.field}`)
    if (error.rule !== undefined) details.push(`rule ${error.rule}`)
    if (error.requestId !== undefined) details.push(`request ${error.requestId}`)
    const suffix = details.length > 0 ? ` (${details.join(', ')})` : ''
    return `${error.apiCode}: ${error.message}${suffix}`
  }
  if (error instanceof CliError) return error.message
  if (error instanceof Error) {
    // Thrown by `@strongroom/server` in `serve`, `admin …` and offline `audit verify`: its
    // ConfigError says what to fix, its PamError has a stable code, as an API error would.
    if (error.name === 'ConfigError') return error.message
    const { code, status, serverCode, field } = error as {
      code?: unknown
      status?: unknown
      serverCode?: unknown
      field?: unknown
    }
    // The SDK's PamError (`get …`, `token …`): the server's own code says more than ours.
    if (typeof code === 'string' && code.startsWith('ERR_PAM_')) {
      const where = typeof field === 'string' ? ` (field ${field})` : ''
      return `${typeof serverCode === 'string' ? serverCode : code}: ${error.message}${where}`
    }
    if (typeof code === 'string' && typeof status === 'number') return `${code}: ${error.message}`
    // A system error (`listen EADDRINUSE: address already in use …`) explains itself.
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return error.message
    return `unexpected error: ${error.message}`
  }
  return `unexpected error: ${String(error)}`
}

function redact(text: string, secrets: Iterable<string>): string {
  let result = text
  for (const secret of secrets) {
    if (secret.length >= MIN_REDACTED_LENGTH) result = result.replaceAll(secret, '[redacted]')
  }
  return result
}

function oneLine(text: string): string {
  return text.replace(CONTROL, ' ').replace(INVISIBLE_CONTROLS, unicodeEscape).trim()
}
