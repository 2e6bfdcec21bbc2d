import { DEFAULT_AUTHORIZATION_SERVER } from '@strongroom/protocol'
import { NotFound } from '../errors.js'
import type { Services } from '../services.js'
import type { Store } from '../store/connect.js'
import { prepare } from '../store/prepared.js'

/** The issuer identifier of an instance's authorization server: `{publicUrl}/v2/{instance}/authorizationServer/{id}`. */
export function issuerOf(
  s: Pick<Services, 'publicUrl'>,
  instanceId: string,
  authorizationServerId: string,
): string {
  return `${s.publicUrl}/v2/${instanceId}/authorizationServer/${authorizationServerId}`
}

// Read for an instance not yet seen: prepared once (store/prepared.ts).
const instanceExists = prepare(['instanceId'], (db, p) =>
  db.selectFrom('instances').select('id').where('id', '=', p.instanceId),
)

/**
 * The instances each store was found to hold. No instance is deleted or renamed while a server
 * runs (there is no such operation, and a restore needs the server stopped), so one found stays
 * found: the OAuth endpoints ask the database only about an id not seen yet, not on every token
 * request (a read there was 6% of the token endpoint's CPU). Only ids that exist are added, so no
 * caller can grow it; past 10,000 it starts over.
 */
const knownInstances = new WeakMap<Store, Set<string>>()
const MAX_KNOWN_INSTANCES = 10_000

/** Every instance has the one authorization server `iauths_system`; the instance must exist. */
export async function requireAuthorizationServer(
  s: Pick<Services, 'store'>,
  instanceId: string,
  authorizationServerId: string,
): Promise<void> {
  if (authorizationServerId !== DEFAULT_AUTHORIZATION_SERVER) {
    throw new NotFound(
      'AuthorizationServerNotFound',
      `authorization server ${authorizationServerId} does not exist (use ${DEFAULT_AUTHORIZATION_SERVER})`,
    )
  }
  if (knownInstances.get(s.store)?.has(instanceId)) return
  const instance = await instanceExists.first(s.store, s.store.db, { instanceId })
  if (!instance) throw new NotFound('InstanceNotFound', `instance ${instanceId} does not exist`)
  // Read again after the wait: another request may have started the set over meanwhile.
  let known = knownInstances.get(s.store)
  if (known === undefined || known.size >= MAX_KNOWN_INSTANCES) {
    known = new Set()
    knownInstances.set(s.store, known)
  }
  known.add(instanceId)
}
