import type { Services } from '../../services/context.js'
import type { RouteSpec } from '../route-table.js'

/** Key-bound scoped and session tokens: `/v2/{i}/scopedTokens`, `/v2/{i}/sessionTokens`. */
export function boundTokenRoutes(_s: Services): RouteSpec[] {
  return []
}
