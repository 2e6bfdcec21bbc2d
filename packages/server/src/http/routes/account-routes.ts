import type { Services } from '../../services/context.js'
import type { RouteSpec } from '../route-table.js'

/** Administrators manage privileged accounts: `/admin/v1/instances/{i}/accounts`. */
export function accountAdminRoutes(_s: Services): RouteSpec[] {
  return []
}

/** Workloads list accounts and retrieve their passwords and SSH keys: `/v2/{i}/accounts`. */
export function accountRoutes(_s: Services): RouteSpec[] {
  return []
}
