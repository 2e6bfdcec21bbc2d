/**
 * The typed, normalised shape of the IDaaS client configuration file (`client-config.json`). Key
 * names, enumerations and defaults follow the official IDaaS core SDKs
 * (`cloud_idaas/core/config/*.py` and `constants.py` in cloud-idaas/idaas-python-core-sdk,
 * `com.cloud_idaas.core.config.*` in cloud-idaas/idaas-java-core-sdk).
 */

/** Who authenticates: a workload (`CLIENT`, the default) or a person through the device flow (`HUMAN`). */
export const IDENTITY_TYPES = ['CLIENT', 'HUMAN'] as const
export type IdentityType = (typeof IDENTITY_TYPES)[number]

/** How the client authenticates at the token endpoint; `NONE` (the default) configures no method. */
export const AUTHN_METHODS = [
  'NONE',
  'CLIENT_SECRET_POST',
  'CLIENT_SECRET_BASIC',
  'CLIENT_SECRET_JWT',
  'PRIVATE_KEY_JWT',
  'PKCS7',
  'PCA',
  'OIDC',
  'PLUGIN',
] as const
export type AuthnMethod = (typeof AUTHN_METHODS)[number]

/** Where the client runs, for the federated methods (`OIDC`, `PKCS7`). */
export const CLIENT_DEPLOY_ENVIRONMENTS = [
  'COMMON',
  'COMPUTER',
  'KUBERNETES',
  'ALIBABA_CLOUD_ECS',
  'ALIBABA_CLOUD_ECI',
  'ALIBABA_CLOUD_ACK',
  'AWS_EC2',
  'AWS_ESK',
  'GOOGLE_VM',
  'HUAWEI_CLOUD_ECS',
  'CUSTOM',
] as const
export type ClientDeployEnvironment = (typeof CLIENT_DEPLOY_ENVIRONMENTS)[number]

/** The PAM scope the Java core SDK and the Python PAM client use when none is configured. */
export const DEFAULT_SCOPE = 'urn:cloud:idaas:pam|.all'
/** The client the official SDKs use for the human device flow when none is configured. */
export const DEFAULT_HUMAN_AUTHENTICATE_CLIENT_ID = 'iap_developer'
/** Timeouts in milliseconds: the official defaults and the range the official validator allows. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000
export const DEFAULT_READ_TIMEOUT_MS = 10_000
export const MIN_TIMEOUT_MS = 2000
export const MAX_TIMEOUT_MS = 60_000

/** `authnConfiguration`: how the client proves who it is. Holds names of variables, never secrets. */
export interface AuthnConfiguration {
  readonly identityType: IdentityType
  readonly authnMethod: AuthnMethod
  /** The environment variable holding the client secret (`CLIENT_SECRET_*`). */
  readonly clientSecretEnvVarName?: string
  /** The environment variable holding the PEM private key (`PRIVATE_KEY_JWT`, `PCA`). */
  readonly privateKeyEnvVarName?: string
  /** The federated credential registered on the application (`OIDC`, `PKCS7`, `PCA`). */
  readonly applicationFederatedCredentialName?: string
  readonly clientDeployEnvironment?: ClientDeployEnvironment
  /** The environment variable holding the path of the OIDC token file (`OIDC`). */
  readonly oidcTokenFilePathEnvVarName?: string
  /** The path of the OIDC token file, e.g. a projected Kubernetes service account token (`OIDC`). */
  readonly oidcTokenFilePath?: string
  /** The client certificate (`PCA`). */
  readonly clientX509Certificate?: string
  /** The certificate chain (`PCA`). */
  readonly x509CertChains?: string
  /** The client used for the human device flow; defaults to `iap_developer`. */
  readonly humanAuthenticateClientId: string
  /** The credential plugin to use (`PLUGIN`). */
  readonly pluginName?: string
}

/** `httpConfiguration`: what the HTTP layer applies to every call. */
export interface HttpConfiguration {
  /** Milliseconds to establish a connection, 2000–60000; defaults to 5000. */
  readonly connectTimeout: number
  /** Milliseconds to wait for a response, 2000–60000; defaults to 10000. */
  readonly readTimeout: number
  /** Skip TLS certificate verification. Dangerous; defaults to `false`. */
  readonly unsafeIgnoreSslCert: boolean
}

/**
 * The client configuration as the SDK uses it: keys in camelCase whatever the file used, endpoints
 * absolute `http(s)` URLs without trailing slashes, timeouts validated numbers, defaults filled in.
 */
export interface ClientConfig {
  /** The file this configuration was read from (absolute path), or the `source` given to the parser. */
  readonly source: string
  readonly idaasInstanceId: string
  readonly clientId: string
  readonly issuer: string
  readonly tokenEndpoint: string
  /** Space-separated OAuth scopes; defaults to `urn:cloud:idaas:pam|.all`. */
  readonly scope: string
  /** The device authorization endpoint (RFC 8628), required when `identityType` is `HUMAN`. */
  readonly deviceAuthorizationEndpoint?: string
  /** Where the PAM developer API is served. */
  readonly developerApiEndpoint?: string
  readonly openApiEndpoint?: string
  readonly authnConfiguration: AuthnConfiguration
  readonly httpConfiguration: HttpConfiguration
}
