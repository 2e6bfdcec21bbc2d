import { readFile, stat } from 'node:fs/promises'
import { decodeJwt } from 'jose'
import { CredentialProviderError } from '../errors.js'
import { idTokenBearer } from './client-authentication.js'
import { clientCredentialsGrant } from './client-credentials-grant.js'
import type { CredentialProvider, GetTokenOptions, TokenEndpointOptions } from './credential-provider.js'

export interface FromOidcTokenFileOptions extends TokenEndpointOptions {
  /** The file holding the external OIDC token, e.g. a projected Kubernetes service-account token. */
  tokenFile?: string | undefined
  /** Or the environment variable holding that file's path (`oidcTokenFilePathEnvVarName`). */
  tokenFileEnvVarName?: string | undefined
  /** The federated credential registered on the application (`strongroom app federated create`). */
  applicationFederatedCredentialName: string
  env?: NodeJS.ProcessEnv | undefined
}

/** A cached token is read again when less than this is left of it (kubelet rotates at 80% of the life). */
const REREAD_BEFORE_EXPIRY_MS = 60_000

/**
 * Federation: the workload proves who it is with a token of an external OIDC issuer, read from a
 * file that the platform keeps fresh. The file is read again when it changes (its modification
 * time or size) or when the token it held nears its expiry, so a rotated token is picked up.
 */
export function fromOidcTokenFile(options: FromOidcTokenFileOptions): CredentialProvider {
  if ((options.tokenFile === undefined) === (options.tokenFileEnvVarName === undefined)) {
    throw new CredentialProviderError(
      'fromOidcTokenFile needs exactly one of tokenFile and tokenFileEnvVarName',
    )
  }
  const now = options.now ?? Date.now
  let cached:
    | { path: string; token: string; mtimeMs: number; size: number; expiresAt: number | undefined }
    | undefined
  const path = () => {
    if (options.tokenFile !== undefined) return options.tokenFile
    const value = (options.env ?? process.env)[options.tokenFileEnvVarName!]
    if (!value) {
      throw new CredentialProviderError(
        `fromOidcTokenFile: the environment variable ${options.tokenFileEnvVarName} is not set`,
      )
    }
    return value
  }
  const token = async (): Promise<string> => {
    const file = path()
    let info: { mtimeMs: number; size: number }
    try {
      info = await stat(file)
    } catch (err) {
      throw new CredentialProviderError(`fromOidcTokenFile: the token file ${file} cannot be read`, {
        cause: err,
      })
    }
    const fresh =
      cached !== undefined &&
      cached.path === file &&
      cached.mtimeMs === info.mtimeMs &&
      cached.size === info.size &&
      (cached.expiresAt === undefined || cached.expiresAt - now() > REREAD_BEFORE_EXPIRY_MS)
    if (fresh) return cached!.token
    const text = (await readFile(file, 'utf8')).trim()
    if (text === '') throw new CredentialProviderError(`fromOidcTokenFile: the token file ${file} is empty`)
    let expiresAt: number | undefined
    try {
      const exp = decodeJwt(text).exp
      expiresAt = typeof exp === 'number' ? exp * 1000 : undefined
    } catch {
      throw new CredentialProviderError(`fromOidcTokenFile: the token file ${file} does not hold a JWT`)
    }
    cached = { path: file, token: text, mtimeMs: info.mtimeMs, size: info.size, expiresAt }
    return text
  }
  const authenticate = idTokenBearer(token, options.applicationFederatedCredentialName)
  return {
    name: 'fromOidcTokenFile',
    cacheable: true,
    getToken: (o: GetTokenOptions = {}) => clientCredentialsGrant(options, authenticate, o.signal),
  }
}
