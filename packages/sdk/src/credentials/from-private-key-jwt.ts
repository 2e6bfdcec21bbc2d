import { createPrivateKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { CredentialProviderError } from '../errors.js'
import { privateKeyJwt } from './client-authentication.js'
import { clientCredentialsGrant } from './client-credentials-grant.js'
import type { CredentialProvider, GetTokenOptions, TokenEndpointOptions } from './credential-provider.js'

export interface FromPrivateKeyJwtOptions extends TokenEndpointOptions {
  /** The private key: PEM (PKCS#8, PKCS#1 or SEC1) or a `KeyObject`. */
  privateKey?: string | KeyObject | undefined
  /** Or the environment variable holding the PEM (the IDaaS configuration's `privateKeyEnvVarName`). */
  privateKeyEnvVarName?: string | undefined
  /** Or a file holding the PEM, read once. */
  privateKeyFile?: string | undefined
  /** The `kid` of the registered public key, when the server should not have to try each. */
  keyId?: string | undefined
  env?: NodeJS.ProcessEnv | undefined
}

const CURVE_ALGS: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }

/** The JWS algorithm a key signs with (RFC 7518): RS256, PS256, ES256/384/512 by curve, or EdDSA. */
export function algorithmFor(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256'
    case 'rsa-pss':
      return 'PS256'
    case 'ed25519':
      return 'EdDSA'
    case 'ec': {
      const alg = CURVE_ALGS[key.asymmetricKeyDetails?.namedCurve ?? '']
      if (alg) return alg
      break
    }
  }
  throw new CredentialProviderError(
    `the private key is of a kind no client assertion can use (${key.asymmetricKeyType ?? 'unknown'}); use RSA, EC P-256/384/521 or Ed25519`,
  )
}

/**
 * Access tokens by client credentials, the client authenticated with an assertion signed by its
 * private key (RFC 7523, `private_key_jwt`); the algorithm follows from the key. The server holds
 * only the public key (`strongroom app key add`).
 *
 * @example
 * ```ts
 * const provider = fromPrivateKeyJwt({ clientId, tokenEndpoint, privateKeyFile: '/run/secrets/client.pem', call })
 * ```
 */
export function fromPrivateKeyJwt(options: FromPrivateKeyJwtOptions): CredentialProvider {
  const sources = [options.privateKey, options.privateKeyEnvVarName, options.privateKeyFile].filter(
    (s) => s !== undefined,
  )
  if (sources.length !== 1) {
    throw new CredentialProviderError(
      'fromPrivateKeyJwt needs exactly one of privateKey, privateKeyEnvVarName and privateKeyFile',
    )
  }
  let loaded: Promise<{ key: KeyObject; alg: string; kid?: string }> | undefined
  const load = () => {
    loaded ??= loadKey(options).catch((err: unknown) => {
      loaded = undefined // a fixed file or variable is read again next time
      throw err
    })
    return loaded
  }
  const authenticate = privateKeyJwt(load)
  return {
    name: 'fromPrivateKeyJwt',
    cacheable: true,
    getToken: (o: GetTokenOptions = {}) => clientCredentialsGrant(options, authenticate, o.signal),
  }
}

async function loadKey(
  options: FromPrivateKeyJwtOptions,
): Promise<{ key: KeyObject; alg: string; kid?: string }> {
  let pem: string | KeyObject
  let where: string
  if (options.privateKey !== undefined) {
    pem = options.privateKey
    where = 'the privateKey option'
  } else if (options.privateKeyEnvVarName !== undefined) {
    const value = (options.env ?? process.env)[options.privateKeyEnvVarName]
    if (!value) {
      throw new CredentialProviderError(
        `fromPrivateKeyJwt: the environment variable ${options.privateKeyEnvVarName} is not set`,
      )
    }
    pem = value
    where = `the environment variable ${options.privateKeyEnvVarName}`
  } else {
    where = `the file ${options.privateKeyFile}`
    try {
      pem = await readFile(options.privateKeyFile!, 'utf8')
    } catch (err) {
      throw new CredentialProviderError(`fromPrivateKeyJwt: ${where} cannot be read`, { cause: err })
    }
  }
  let key: KeyObject
  try {
    key = typeof pem === 'string' ? createPrivateKey(pem) : pem
  } catch {
    // The parser's message could quote the key: only say where it came from.
    throw new CredentialProviderError(`fromPrivateKeyJwt: ${where} does not hold a PEM private key`)
  }
  if (key.type !== 'private') {
    throw new CredentialProviderError(`fromPrivateKeyJwt: ${where} does not hold a private key`)
  }
  return { key, alg: algorithmFor(key), ...(options.keyId ? { kid: options.keyId } : {}) }
}
