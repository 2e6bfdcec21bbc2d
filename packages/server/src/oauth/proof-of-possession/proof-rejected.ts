import { InvalidParameter } from '../../errors.js'

/** Why a DPoP proof was refused: one stable value per condition (RFC 9449 §4.3). */
export type ProofRefusal =
  | 'ProofMissing'
  | 'ProofInvalid'
  | 'ProofRequestMismatch'
  | 'ProofTokenMismatch'
  | 'ProofKeyMismatch'
  | 'ProofExpired'
  | 'ProofReplayed'
  | 'ProofNonceInvalid'

/**
 * A DPoP proof was refused. An `InvalidParameter` (400, `Code: InvalidParameter`) naming the field
 * (`DPoP`, `DPoP.htu`…) and the rule, with the RFC 9449 `error` (`invalid_dpop_proof`, or
 * `use_dpop_nonce` when the nonce is missing or stale) and the precise `reason`. The message never
 * quotes the proof, the token or a key.
 */
export class ProofRejected extends InvalidParameter {
  readonly reason: ProofRefusal
  override readonly oauthError: 'invalid_dpop_proof' | 'use_dpop_nonce'

  constructor(reason: ProofRefusal, field: string, rule: string) {
    super(field, rule)
    this.reason = reason
    this.oauthError = reason === 'ProofNonceInvalid' ? 'use_dpop_nonce' : 'invalid_dpop_proof'
  }
}
