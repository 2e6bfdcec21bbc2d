import { Type } from '@sinclair/typebox'
import type * as P from '@strongroom/protocol'
import { InstanceId, ObtainCredentialQuery, ObtainedCredential } from '@strongroom/protocol'
import type { Services, Workload } from '../../services/context.js'
import { obtainCredential } from '../../services/pam/obtain-credential.js'
import type { RouteInput, RouteSpec } from '../route-table.js'

const B = '/v2/:instanceId'
const instanceParams = Type.Object({ instanceId: InstanceId }, { additionalProperties: false })

/**
 * The IDaaS PAM developer API 2022-02-25 (CONTRACT.md, "PAM operations"), called by workloads
 * with an access token of the instance's authorization server.
 */
export function pamRoutes(s: Services): RouteSpec[] {
  return [
    {
      auth: 'workload',
      method: 'GET',
      url: `${B}/credentials/_/actions/obtain`,
      operationId: 'ObtainCredential',
      summary:
        'The current value of a credential (scope credential:obtain, an obtain grant); audited before it is answered',
      tag: 'pam',
      params: instanceParams,
      querystring: ObtainCredentialQuery,
      success: { status: 200, schema: ObtainedCredential },
      handler: ({ caller, params, query }: RouteInput & { query: P.ObtainCredentialQuery }) =>
        obtainCredential(
          s,
          caller as typeof caller & { workload: Workload },
          params.instanceId!,
          query.credentialIdentifier,
        ),
    },
  ]
}
