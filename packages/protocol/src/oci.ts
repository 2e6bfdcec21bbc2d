import { type Static, Type } from '@sinclair/typebox'
import { RequestedScope } from './scoped-tokens.js'

// OCI's identity data plane, as the official OCI SDKs call it (`oci-identitydataplane`'s
// `DataplaneClient`): strongroom answers it under `{publicUrl}/oci/{instanceId}`, so an OCI SDK
// pointed there with an endpoint override gets strongroom's key-bound tokens. The client appends
// `/v1` to its endpoint and signs every request with an application's registered RSA key (OCI
// request signatures: draft-cavage HTTP signatures, `rsa-sha256`, `keyId`
// `<instanceId>/<application id or client id>/<OCI key fingerprint>`).

/** Where the OCI routes live below the server's public URL: `{publicUrl}/oci/{instanceId}`. */
export const OCI_PATH_PREFIX = '/oci'

/** What the OCI client appends to its endpoint (`DataplaneClient.endpoint` adds `/v1`). */
export const OCI_API_VERSION_PATH = '/v1'

/** `POST {endpoint}/v1/actions/generateScopedAccessToken`, OCI's `GenerateScopedAccessToken`. */
export const OCI_GENERATE_SCOPED_ACCESS_TOKEN_PATH = '/actions/generateScopedAccessToken'

/** `POST {endpoint}/v1/token/upst/actions/GenerateUpst`, OCI's `GenerateUserSecurityToken`. */
export const OCI_GENERATE_USER_SECURITY_TOKEN_PATH = '/token/upst/actions/GenerateUpst'

/**
 * An OCI API key's fingerprint: MD5 of the DER SubjectPublicKeyInfo, as 16 lower-case hex pairs
 * separated by colons (`openssl rsa -pubout -outform DER | openssl md5 -c`).
 */
export const OCI_FINGERPRINT_PATTERN = '^[0-9a-f]{2}(:[0-9a-f]{2}){15}$'

/** The public key a token is bound to, as OCI sends it: a PEM (or its base64 DER body alone). */
const OciPublicKey = Type.String({ minLength: 1, maxLength: 16_384 })

/**
 * OCI's `GenerateScopedAccessTokenDetails`. `scope` is a strongroom scope
 * (`audience|value …`, one audience): the token carries what the application is allowed of it.
 */
export const GenerateScopedAccessTokenDetails = Type.Object(
  {
    scope: RequestedScope,
    publicKey: OciPublicKey,
  },
  { additionalProperties: false },
)
export type GenerateScopedAccessTokenDetails = Static<typeof GenerateScopedAccessTokenDetails>

/**
 * OCI's `GenerateUserSecurityTokenDetails`: a session (a user principal session token, UPST)
 * bound to `publicKey`, lasting `sessionExpirationInMinutes` (5 to 60; 60 when absent, as OCI).
 */
export const GenerateUserSecurityTokenDetails = Type.Object(
  {
    publicKey: OciPublicKey,
    sessionExpirationInMinutes: Type.Optional(Type.Integer({ minimum: 5, maximum: 60 })),
  },
  { additionalProperties: false },
)
export type GenerateUserSecurityTokenDetails = Static<typeof GenerateUserSecurityTokenDetails>

/** How long a user security token's session lasts when the request does not say (OCI's default). */
export const OCI_DEFAULT_SESSION_MINUTES = 60

/** OCI's `SecurityToken`: the answer of both operations. */
export const OciSecurityToken = Type.Object({ token: Type.String() })
export type OciSecurityToken = Static<typeof OciSecurityToken>

/**
 * OCI's error body: a `code` of OCI's table of API errors (`NotAuthenticated`, `InvalidParameter`…)
 * and a `message`. The OCI SDKs read exactly these two into an `OciError`; the request id is the
 * `opc-request-id` header.
 */
export const OciErrorBody = Type.Object({ code: Type.String(), message: Type.String() })
export type OciErrorBody = Static<typeof OciErrorBody>
