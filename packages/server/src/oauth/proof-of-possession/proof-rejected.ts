import { type ProofRefusal, type ProofRefusalOAuthError, proofRefusalOAuthError } from '@strongroom/dpop'
import { PamError } from '../../errors.js'
import type { DpopChallenged } from './dpop-challenge.js'

/** Why a DPoP proof was refused: one stable value per condition (RFC 9449 §4.3), also its `Code`. */
export type { ProofRefusal }

/**
 * A DPoP proof was refused. Its `Code` is the precise `reason` (`ProofReplayed`…), it names the
 * field (`DPoP`, `DPoP.htu`…) and the rule, and carries the RFC 9449 `error`
 * (`invalid_dpop_proof`; `use_dpop_nonce` for a missing or stale nonce; `invalid_token` for a
 * proof signed by another key than the token is bound to). 401 with a `WWW-Authenticate: DPoP`
 * challenge where it guards a protected resource (RFC 9449 §7.1); the OAuth endpoints answer it
 * 400 (§5): both are the code's, in `ERROR_STATUS`. The message never quotes the proof, the token
 * or a key.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export class ProofRejected extends PamError implements DpopChallenged {
  readonly reason: ProofRefusal
  readonly challenge = 'DPoP' as const
  override readonly field: string
  override readonly rule: string

  constructor(reason: ProofRefusal, field: string, rule: string) {
    super(reason, `${field} ${rule}`, { field, rule })
    this.reason = reason
    this.field = field
    this.rule = rule
  }

  override get oauthError(): ProofRefusalOAuthError {
    return proofRefusalOAuthError(this.reason)
  }
}
