import { DEFAULT_AUTHORIZATION_SERVER } from '@strongroom/protocol'
import { NotFound } from '../errors.js'
import type { Services } from '../services.js'
import { prepare } from '../store/prepared.js'

/** The issuer identifier of an instance's authorization server: `{publicUrl}/v2/{instance}/authorizationServer/{id}`. */
export function issuerOf(
  s: Pick<Services, 'publicUrl'>,
  instanceId: string,
  authorizationServerId: string,
): string {
  return `${s.publicUrl}/v2/${instanceId}/authorizationServer/${authorizationServerId}`
}

// Read on every token request: prepared once (store/prepared.ts).
const instanceExists = prepare(['instanceId'], (db, p) =>
  db.selectFrom('instances').select('id').where('id', '=', p.instanceId),
)

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
  const instance = await instanceExists.first(s.store, s.store.db, { instanceId })
  if (!instance) throw new NotFound('InstanceNotFound', `instance ${instanceId} does not exist`)
}
