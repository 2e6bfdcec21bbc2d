/** The key algorithms this module reads. */
export type SshKeyType = 'ed25519' | 'rsa' | 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521'

export interface EcdsaCurve {
  /** The curve identifier inside SSH blobs (RFC 5656 §6.1). */
  readonly sshCurve: 'nistp256' | 'nistp384' | 'nistp521'
  /** The JWK `crv` (RFC 7518 §6.2.1.1). */
  readonly jwkCurve: 'P-256' | 'P-384' | 'P-521'
  /** OpenSSL's name, as `KeyObject.asymmetricKeyDetails.namedCurve` reports it. */
  readonly opensslCurve: 'prime256v1' | 'secp384r1' | 'secp521r1'
  /** Bytes of a field element (and of the scalar): ⌈bits / 8⌉. */
  readonly fieldBytes: number
  readonly bits: number
}

export interface SshKeyTypeInfo {
  readonly keyType: SshKeyType
  /** The name on the wire and in authorized_keys lines. */
  readonly sshName: string
  readonly curve?: EcdsaCurve
}

const ECDSA_CURVES = {
  'ecdsa-p256': {
    sshCurve: 'nistp256',
    jwkCurve: 'P-256',
    opensslCurve: 'prime256v1',
    fieldBytes: 32,
    bits: 256,
  },
  'ecdsa-p384': {
    sshCurve: 'nistp384',
    jwkCurve: 'P-384',
    opensslCurve: 'secp384r1',
    fieldBytes: 48,
    bits: 384,
  },
  'ecdsa-p521': {
    sshCurve: 'nistp521',
    jwkCurve: 'P-521',
    opensslCurve: 'secp521r1',
    fieldBytes: 66,
    bits: 521,
  },
} as const satisfies Record<string, EcdsaCurve>

export const SSH_KEY_TYPES: Readonly<Record<SshKeyType, SshKeyTypeInfo>> = {
  ed25519: { keyType: 'ed25519', sshName: 'ssh-ed25519' },
  rsa: { keyType: 'rsa', sshName: 'ssh-rsa' },
  'ecdsa-p256': { keyType: 'ecdsa-p256', sshName: 'ecdsa-sha2-nistp256', curve: ECDSA_CURVES['ecdsa-p256'] },
  'ecdsa-p384': { keyType: 'ecdsa-p384', sshName: 'ecdsa-sha2-nistp384', curve: ECDSA_CURVES['ecdsa-p384'] },
  'ecdsa-p521': { keyType: 'ecdsa-p521', sshName: 'ecdsa-sha2-nistp521', curve: ECDSA_CURVES['ecdsa-p521'] },
}

export function keyTypeInfoBySshName(sshName: string): SshKeyTypeInfo | undefined {
  return Object.values(SSH_KEY_TYPES).find((info) => info.sshName === sshName)
}

export function keyTypeInfoByJwkCurve(crv: unknown): SshKeyTypeInfo | undefined {
  return Object.values(SSH_KEY_TYPES).find((info) => info.curve?.jwkCurve === crv)
}
