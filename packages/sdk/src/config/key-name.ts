/**
 * Key names in the client configuration file. The official IDaaS SDKs accept every key in camelCase
 * or snake_case because they fold each key to snake_case before looking it up; folding the same way
 * here accepts exactly the spellings they accept (`idaasInstanceId`, `idaas_instance_id`,
 * `unsafeIgnoreSSLCert`, `clientX509Certificate`, …).
 */

/** `idaasInstanceId` → `idaas_instance_id`, `unsafeIgnoreSSLCert` → `unsafe_ignore_ssl_cert`. */
export function snakeCaseKey(key: string): string {
  return key
    .replace(/([0-9])([A-Z])/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
}

/**
 * Whether a key's value must never be repeated in a message. The file holds the NAMES of
 * environment variables, not secrets, but a user may paste a secret into the wrong key, so values of
 * anything that sounds secret are never echoed.
 */
export function isSensitiveKey(key: string): boolean {
  return /secret|key|token|password|credential|certificate|cert_chain/i.test(snakeCaseKey(key))
}
