import { createHash } from 'node:crypto'

/**
 * The `RoleSessionName` sent to STS: the workload's client id, so the cloud's own trail (ActionTrail,
 * CloudTrail) names who held the credentials. Both vendors take 2–64 characters; the alphabet kept is
 * the one both accept (`[A-Za-z0-9_.@-]`), anything else becomes `-`. A longer id keeps its start
 * and ends with 8 hex of its SHA-256, so two long ids never share a name.
 */
export function roleSessionName(clientId: string): string {
  const safe = clientId.replace(/[^A-Za-z0-9_.@-]/g, '-')
  if (safe.length > 64) {
    const digest = createHash('sha256').update(clientId).digest('hex').slice(0, 8)
    return `${safe.slice(0, 55)}-${digest}`
  }
  return safe.length >= 2 ? safe : `${safe}--`.slice(0, 2)
}
