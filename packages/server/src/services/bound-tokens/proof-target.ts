import { normalizedHtu } from '@strongroom/dpop'
import { ProofRejected } from '../../oauth/proof-of-possession/proof-rejected.js'
import {
  type VerifiedProof,
  verifyProofForRequest,
} from '../../oauth/proof-of-possession/verify-proof-for-request.js'
import type { Services } from '../../services.js'
import { proofReplayGuard } from './proof-replay.js'

/** How far a proof's `iat` may be from the server's clock, either way (RFC 9449 §11.1). */
export const PROOF_WINDOW_SECONDS = 60

/** The request a DPoP proof must be for, as the HTTP layer received it. */
export interface ProofTarget {
  /** The `DPoP` header as received: a string, or an array when it came more than once. */
  proof: unknown
  method: string
  /** The request target as received (path and query); the query is left out of `htu`. */
  url: string
}

/**
 * Checks the DPoP proof that came with a key-bound access token: for this request (`htm` the
 * method, `htu` the server's public URL and the request path: `publicUrl` is what clients
 * address, also behind a proxy), with the token's `ath`, signed by the key the token is bound to
 * (`jkt`), fresh, and never seen before by any node. Every refusal is a `ProofRejected` (401,
 * `Code` the reason, a DPoP challenge).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export async function checkProof(
  s: Pick<Services, 'committer' | 'now' | 'publicUrl'>,
  instanceId: string,
  target: ProofTarget,
  accessToken: string,
  jkt: string,
): Promise<VerifiedProof> {
  // RFC 9449 §4.3 check 1: one DPoP header, no more.
  if (Array.isArray(target.proof))
    throw new ProofRejected('ProofInvalid', 'DPoP', 'must be sent once, as one header')
  const path = target.url.split('?', 1)[0] ?? ''
  const url = `${s.publicUrl}${path}`
  // A request target that makes no URL (an absolute-form or `*` target) cannot be what a proof names.
  if (!path.startsWith('/') || normalizedHtu(url) === undefined)
    throw new ProofRejected('ProofRequestMismatch', 'DPoP.htu', 'must be the URL of this request')
  return verifyProofForRequest(target.proof, {
    method: target.method,
    url,
    accessToken,
    now: s.now(),
    maxAgeSeconds: PROOF_WINDOW_SECONDS,
    seenJti: proofReplayGuard(s, instanceId),
    expectedJkt: jkt,
  })
}
