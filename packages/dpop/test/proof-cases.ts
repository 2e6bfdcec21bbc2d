import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto'
import { accessTokenHash, type ProofRefusal } from '../src/index.js'
import { signRaw } from './sign-raw.js'

export const NOW = 1_750_000_000_000
export const NOW_S = NOW / 1000
export const METHOD = 'GET'
export const URL_ = 'https://api.example/v1/things'

interface KeyPair {
  privateKey: KeyObject
  publicKey: KeyObject
}

/** What a case builds its proof from: the key the token is bound to, another key, the token. */
export interface ProofContext {
  bound: KeyPair
  other: KeyPair
  accessToken: string
}

/**
 * One table of proofs, each with what any verifier must answer: accepted, or refused with this
 * reason naming this field. The shared module's own test runs it, and so does the test that the
 * SDK and the server give the same answer to each.
 */
export interface ProofCase {
  name: string
  proof: (context: ProofContext) => string
  /** The nonce the verifier is told it handed out, when it requires one. */
  nonce?: string
  refusal: { reason: ProofRefusal; field: string } | undefined
}

export function proofContext(accessToken: string): ProofContext {
  const pair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { bound: pair(), other: pair(), accessToken }
}

interface Shape {
  header?: Record<string, unknown>
  claims?: Record<string, unknown>
  /** Signs with this instead of the key whose `jwk` the header carries. */
  signer?: KeyObject | Buffer
}

/** A proof by `key` for the table's request, its header and claims as `shape` changes them. */
function proofBy(key: KeyPair, context: ProofContext, shape: Shape = {}): string {
  const jwk = key.publicKey.export({ format: 'jwk' })
  return signRaw(
    { typ: 'dpop+jwt', alg: 'ES256', jwk, ...shape.header },
    {
      jti: randomUUID(),
      htm: METHOD,
      htu: URL_,
      iat: NOW_S,
      ath: accessTokenHash(context.accessToken),
      ...shape.claims,
    },
    shape.signer ?? key.privateKey,
  )
}

/** An RSA public JWK of `modulusBytes` and `exponentBytes` (made up: refused before any use). */
const rsaJwk = (modulusBytes: number, exponentBytes: number) => ({
  kty: 'RSA',
  n: Buffer.alloc(modulusBytes, 0xc5).toString('base64url'),
  e: Buffer.alloc(exponentBytes, 0x01).toString('base64url'),
})

const bound = (shape?: Shape) => (context: ProofContext) => proofBy(context.bound, context, shape)
const refused = (reason: ProofRefusal, field: string) => ({ reason, field })

export const PROOF_CASES: readonly ProofCase[] = [
  { name: 'a fresh proof by the bound key', proof: bound(), refusal: undefined },
  {
    name: 'the same request with htu in another spelling (upper-case host, default port, dot segment)',
    proof: bound({ claims: { htu: 'https://API.example:443/v1/./things' } }),
    refusal: undefined,
  },
  { name: 'no proof', proof: () => '', refusal: refused('ProofMissing', 'DPoP') },
  { name: 'no JWS', proof: () => 'not-a-jws', refusal: refused('ProofInvalid', 'DPoP') },
  { name: 'typ JWT', proof: bound({ header: { typ: 'JWT' } }), refusal: refused('ProofInvalid', 'DPoP.typ') },
  {
    name: 'alg none',
    proof: bound({ header: { alg: 'none' } }),
    refusal: refused('ProofInvalid', 'DPoP.alg'),
  },
  {
    name: 'a MAC (HS256)',
    proof: bound({ header: { alg: 'HS256' }, signer: Buffer.alloc(32, 7) }),
    refusal: refused('ProofInvalid', 'DPoP.alg'),
  },
  {
    name: 'a crit header',
    proof: bound({ header: { crit: ['exp'] } }),
    refusal: refused('ProofInvalid', 'DPoP.crit'),
  },
  {
    name: 'a private key in jwk',
    proof: (c) => proofBy(c.bound, c, { header: { jwk: c.bound.privateKey.export({ format: 'jwk' }) } }),
    refusal: refused('ProofInvalid', 'DPoP.jwk'),
  },
  {
    name: 'an RSA key whose exponent is as long as its modulus',
    proof: bound({ header: { alg: 'RS256', jwk: rsaJwk(384, 384) } }),
    refusal: refused('ProofInvalid', 'DPoP.jwk.e'),
  },
  {
    name: 'an RSA key of more than 4096 bits',
    proof: bound({ header: { alg: 'RS256', jwk: rsaJwk(513, 3) } }),
    refusal: refused('ProofInvalid', 'DPoP.jwk'),
  },
  {
    name: 'a signature by another key than its jwk',
    proof: (c) => proofBy(c.bound, c, { signer: c.other.privateKey }),
    refusal: refused('ProofInvalid', 'DPoP'),
  },
  {
    name: 'no jti',
    proof: bound({ claims: { jti: undefined } }),
    refusal: refused('ProofInvalid', 'DPoP.jti'),
  },
  {
    name: 'iat not a number',
    proof: bound({ claims: { iat: String(NOW_S) } }),
    refusal: refused('ProofInvalid', 'DPoP.iat'),
  },
  {
    name: 'htm of another method',
    proof: bound({ claims: { htm: 'POST' } }),
    refusal: refused('ProofRequestMismatch', 'DPoP.htm'),
  },
  {
    name: 'htu of another URL',
    proof: bound({ claims: { htu: 'https://api.example/v1/other' } }),
    refusal: refused('ProofRequestMismatch', 'DPoP.htu'),
  },
  {
    name: 'iat 61 s old',
    proof: bound({ claims: { iat: NOW_S - 61 } }),
    refusal: refused('ProofExpired', 'DPoP.iat'),
  },
  {
    name: 'iat 61 s ahead',
    proof: bound({ claims: { iat: NOW_S + 61 } }),
    refusal: refused('ProofExpired', 'DPoP.iat'),
  },
  {
    name: 'no ath',
    proof: bound({ claims: { ath: undefined } }),
    refusal: refused('ProofTokenMismatch', 'DPoP.ath'),
  },
  {
    name: 'ath of another token',
    proof: bound({ claims: { ath: accessTokenHash('another-token') } }),
    refusal: refused('ProofTokenMismatch', 'DPoP.ath'),
  },
  {
    name: 'the nonce the server asked for',
    nonce: 'nonce-1',
    proof: bound({ claims: { nonce: 'nonce-1' } }),
    refusal: undefined,
  },
  {
    name: 'no nonce when the server asked for one',
    nonce: 'nonce-1',
    proof: bound(),
    refusal: refused('ProofNonceInvalid', 'DPoP.nonce'),
  },
  {
    name: 'a stale nonce',
    nonce: 'nonce-2',
    proof: bound({ claims: { nonce: 'nonce-1' } }),
    refusal: refused('ProofNonceInvalid', 'DPoP.nonce'),
  },
  {
    name: 'a sound proof by another key than the token is bound to',
    proof: (c) => proofBy(c.other, c),
    refusal: refused('ProofKeyMismatch', 'DPoP.jwk'),
  },
]
