// Loopback credential endpoints the cloud SDKs' default chains read (Alibaba Cloud's credentials
// URI, AWS's container credentials), `--file` secret rendering, and the `run --cloud-role` seam.
export { writeFileAtomically } from './atomic-file.js'
export { CloudRolesContributor, type CloudRolesContributorOptions } from './cloud-role-contributor.js'
export {
  type CredentialEndpointRole,
  type CredentialEndpointStats,
  type CredentialEndpoints,
  type CredentialEndpointsOptions,
  rolesByVendor,
  startCredentialEndpoints,
} from './credential-endpoints.js'
export { isLoopbackAddress, type LoopbackAddress, parseLoopbackListen } from './listen-address.js'
export { type CloudCredentialSource, RoleFeed, type RoleFeedState } from './role-feed.js'
export { parseFileSpec, type SecretFileSpec, SecretFiles, type SecretFilesOptions } from './secret-files.js'
export {
  alibabaCredentialsBody,
  awsCredentialsBody,
  SHADOWING_VARIABLES,
  vendorOfRoleArn,
} from './vendors.js'
