import { PROOF_ALGORITHMS } from '@strongroom/dpop'
import { InvalidToken } from '../../errors.js'

/**
 * Marks an error answered with a `WWW-Authenticate: DPoP` challenge instead of the `Bearer` one:
 * the refusals of a key-bound token or of its proof (RFC 9449 §7.1).
 */
export interface DpopChallenged {
  readonly challenge: 'DPoP'
}

/** Whether an error asks for a DPoP challenge (see `DpopChallenged`). */
export function isDpopChallenged(error: unknown): error is DpopChallenged {
  return (
    typeof error === 'object' && error !== null && (error as { challenge?: unknown }).challenge === 'DPoP'
  )
}

const ALGS = PROOF_ALGORITHMS.join(' ')

/**
 * The `WWW-Authenticate` value of a DPoP refusal, `DPoP error="invalid_dpop_proof", algs="ES256 …"`:
 * the error, and the proof algorithms this server accepts so a client knows what to sign with.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export function dpopChallenge(error: string): string {
  return `DPoP error="${error}", algs="${ALGS}"`
}

/**
 * A key-bound token refused for what it is rather than for its proof: sent as `Bearer`, its
 * session over, an unbound token sent with the DPoP scheme. A 401 `InvalidToken` like any refused
 * token (and counted by the same failure throttle), answered with `DPoP error="invalid_token"`.
 */
export class BoundTokenRefused extends InvalidToken implements DpopChallenged {
  readonly challenge = 'DPoP' as const
}
