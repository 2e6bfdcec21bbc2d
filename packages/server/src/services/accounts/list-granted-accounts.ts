import type { AccountSummary, AccountSummaryPage, ListAccountsQuery } from '@strongroom/protocol'
import type { Expression, SqlBool } from 'kysely'
import type { Caller, Services, Workload } from '../../services.js'
import { decodeCursor, pageById } from '../../store/pagination.js'
import type { AccountTable } from '../../store/schema.js'
import { startsWith } from '../../store/starts-with.js'
import { auditedOperation } from '../audited-operation.js'
import { applicationGrants, refuseWithoutScope } from '../grants/authorize.js'
import { toAccountSummary } from './account-record.js'

/**
 * `GET /v2/{i}/accounts`: the accounts the calling application holds a `read` or `obtain` grant on
 * (scope `account:read` or `account:obtain`), by keyset pagination. The grants become one SQL
 * condition (ids and names for exact grants, `substr` for prefixes), so only granted rows are read.
 */
export function listGrantedAccounts(
  s: Services,
  caller: Caller & { workload: Workload },
  instanceId: string,
  query: ListAccountsQuery,
): Promise<AccountSummaryPage> {
  // A bad page token is a 400 about the request, like a schema failure, before anything is recorded.
  decodeCursor(query.nextToken, 'string')
  return auditedOperation(s, caller, { instanceId, action: 'account.list' }, async (unit) => {
    const unscoped = await refuseWithoutScope(unit, caller.workload, ['account:read', 'account:obtain'])
    if (unscoped) return unscoped
    const grants = (
      await applicationGrants.all(s.store, unit.trx, {
        instanceId,
        applicationId: caller.workload.applicationId,
        resourceType: 'account',
      })
    ).filter((g) => g.actions.split(',').some((action) => action === 'read' || action === 'obtain'))
    const exact = grants.filter((g) => g.resource_match === 'exact').map((g) => g.resource)
    const prefixes = [...new Set(grants.filter((g) => g.resource_match !== 'exact').map((g) => g.resource))]
    const page = await pageById<AccountTable, AccountSummary>(
      query,
      async (after, rows) => {
        if (exact.length === 0 && prefixes.length === 0) return []
        return unit.trx
          .selectFrom('accounts')
          .selectAll()
          .where('instance_id', '=', instanceId)
          .where((eb) => {
            const granted: Expression<SqlBool>[] = prefixes.map((prefix) => startsWith('name', prefix))
            if (exact.length > 0) granted.push(eb('id', 'in', exact), eb('name', 'in', exact))
            return eb.or(granted)
          })
          .$if(after !== undefined, (q) => q.where('id', '>', after!))
          .orderBy('id')
          .limit(rows)
          .execute()
      },
      toAccountSummary,
    )
    await unit.succeed({ count: page.entities.length })
    return page
  })
}
