import { ResponseReader } from '../client/response-reader.js'
import { ServerError } from '../errors.js'
import { AlibabaCloudStsCredentials, AwsStsCredentials, type CloudCredentials } from './cloud-credentials.js'

// Only the contract's fields are copied: an unknown field a server adds (possibly a secret) never
// rides along into an object that prints in full. Every field is checked before any object is
// made, so a malformed answer is one `ServerError` naming the field (never its value), not half a
// credential.

/** `YYYY-MM-DDTHH:MM:SSZ`, as the wire contract writes STS expirations. */
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

function wrong(action: string, what: string, expected: string): ServerError {
  return new ServerError(`${action} answered with an unexpected body: ${what} is not ${expected}`)
}

function text(action: string, r: ResponseReader, name: string, path: string): string {
  const value = r.string(name)
  if (value === '') throw wrong(action, `${path}${name}`, 'a non-empty string')
  return value
}

function expirationOf(action: string, r: ResponseReader, path: string): Date {
  const value = r.string('expiration')
  const ms = ISO_SECONDS.test(value) ? Date.parse(value) : Number.NaN
  // The round trip refuses what Date.parse would quietly roll over (February 30th).
  if (Number.isNaN(ms) || new Date(ms).toISOString() !== value.replace('Z', '.000Z'))
    throw wrong(action, `${path}expiration`, 'a time written YYYY-MM-DDTHH:MM:SSZ')
  return new Date(ms)
}

/** ObtainCloudAccountRoleAccessCredential's answer, checked field by field. */
export function parseCloudCredentials(action: string, body: unknown): CloudCredentials {
  const r = new ResponseReader(action, body)
  const vendor = r.string('cloudAccountVendorType')
  if (vendor !== 'alibaba_cloud' && vendor !== 'aws')
    throw wrong(action, 'cloudAccountVendorType', 'alibaba_cloud or aws')
  const ids = {
    cloudAccountId: text(action, r, 'cloudAccountId', ''),
    cloudAccountRoleId: text(action, r, 'cloudAccountRoleId', ''),
    cloudAccountRoleName: text(action, r, 'cloudAccountRoleName', ''),
    cloudAccountRoleExternalId: text(action, r, 'cloudAccountRoleExternalId', ''),
  }
  const c = r.object('cloudAccountRoleAccessCredential')
  const outer = 'cloudAccountRoleAccessCredential.'
  const expiresAt = c.number('accessCredentialExpiresAt')
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0)
    throw wrong(action, `${outer}accessCredentialExpiresAt`, 'a whole number of epoch seconds')
  const alibaba = c.optionalObject('alibabaCloudStsToken')
  const aws = c.optionalObject('awsStsToken')
  // Exactly the vendor's own token: a second one would be a server mistake, not a choice to make here.
  const [own, other, name] =
    vendor === 'aws' ? [aws, alibaba, 'awsStsToken'] : [alibaba, aws, 'alibabaCloudStsToken']
  if (own === undefined) throw wrong(action, `${outer}${name}`, `an object (the ${vendor} role's token)`)
  if (other !== undefined)
    throw new ServerError(
      `${action} answered with an unexpected body: ${outer}${name} comes with the other vendor's token`,
    )
  const path = `${outer}${name}.`
  const accessKeyId = text(action, own, 'accessKeyId', path)
  if (vendor === 'aws') {
    const secretAccessKey = text(action, own, 'secretAccessKey', path)
    const sessionToken = text(action, own, 'sessionToken', path)
    const fields = { ...ids, accessKeyId, expiration: expirationOf(action, own, path), expiresAt }
    return new AwsStsCredentials(fields, secretAccessKey, sessionToken)
  }
  const accessKeySecret = text(action, own, 'accessKeySecret', path)
  const securityToken = text(action, own, 'securityToken', path)
  const fields = { ...ids, accessKeyId, expiration: expirationOf(action, own, path), expiresAt }
  return new AlibabaCloudStsCredentials(fields, accessKeySecret, securityToken)
}
