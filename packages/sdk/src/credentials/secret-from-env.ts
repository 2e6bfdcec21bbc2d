import { CredentialProviderError } from '../errors.js'
import type { SecretSource } from './credential-provider.js'

/**
 * The secret a provider was given, or one read from the named environment variable each time it
 * is needed (so a rotated secret applies at the next token request). Exactly one of the two must
 * be set; a missing variable is reported by its name, never with a value.
 */
export function secretFromEnv(
  given: SecretSource | undefined,
  envVarName: string | undefined,
  env: NodeJS.ProcessEnv | undefined,
  what: { provider: string; option: string },
): SecretSource {
  if ((given === undefined) === (envVarName === undefined)) {
    throw new CredentialProviderError(
      `${what.provider} needs exactly one of ${what.option} and ${what.option}EnvVarName`,
    )
  }
  if (given !== undefined) return given
  const from = env ?? process.env
  return () => {
    const value = from[envVarName!]
    if (value === undefined || value === '') {
      throw new CredentialProviderError(`${what.provider}: the environment variable ${envVarName} is not set`)
    }
    return value
  }
}
