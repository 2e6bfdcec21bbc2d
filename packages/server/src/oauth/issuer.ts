import { DEFAULT_AUTHORIZATION_SERVER } from '@strongroom/protocol'
import { NotFound } from '../errors.js'
import type { Services } from '../services.js'

/** The issuer identifier of an instance's authorization server: `{publicUrl}/v2/{instance}/authorizationServer/{id}`. */
export function issuerOf(
  s: Pick<Services, 'publicUrl'>,
  instanceId: string,
  authorizationServerId: string,
): string {
  return `${s.publicUrl}/v2/${instanceId}/authorizationServer/${authorizationServerId}`
}

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
  const instance = await s.store.db
    .selectFrom('instances')
    .select('id')
    .where('id', '=', instanceId)
    .executeTakeFirst()
  if (!instance) throw new NotFound('InstanceNotFound', `instance ${instanceId} does not exist`)
}
