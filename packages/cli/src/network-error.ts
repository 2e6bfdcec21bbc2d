import { displayUrl } from './display-url.js'
import { CliError } from './errors.js'

/**
 * Turns what `fetch` throws (a `TypeError('fetch failed')` whose `cause`, or an `AggregateError`
 * inside it when both IPv4 and IPv6 were tried, carries the socket error code) into one clear line.
 */
export function networkError(error: unknown, baseUrl: string, timeoutMs: number): CliError {
  const where = displayUrl(baseUrl)
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new CliError('Timeout', `no answer from ${where} within ${Math.round(timeoutMs / 1000)} s`, {
      cause: error,
    })
  }
  const codes = errorCodes(error)
  if (codes.has('ECONNREFUSED')) {
    return new CliError(
      'ConnectionRefused',
      `cannot connect to ${where} (connection refused): is the server running? \`npm start\` starts one`,
      { cause: error },
    )
  }
  if (codes.has('ENOTFOUND') || codes.has('EAI_AGAIN')) {
    return new CliError('NetworkError', `cannot resolve the host of ${where}`, { cause: error })
  }
  const [code] = codes
  const reason = code ?? innermostMessage(error) ?? 'network error'
  return new CliError('NetworkError', `cannot reach ${where}: ${reason}`, { cause: error })
}

function errorCodes(error: unknown, found = new Set<string>(), depth = 0): Set<string> {
  if (depth > 5 || typeof error !== 'object' || error === null) return found
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown }
  if (typeof code === 'string' && !code.startsWith('UND_ERR_')) found.add(code)
  if (Array.isArray(errors)) for (const inner of errors) errorCodes(inner, found, depth + 1)
  errorCodes(cause, found, depth + 1)
  // undici's own codes say less than the socket's; use them only when nothing else is known.
  if (found.size === 0 && typeof code === 'string') found.add(code)
  return found
}

/** fetch's own message is always "fetch failed"; the innermost cause says why (e.g. "bad port"). */
function innermostMessage(error: unknown): string | undefined {
  let message: string | undefined
  let current = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    message = current.message
    current = current.cause
  }
  return message
}
