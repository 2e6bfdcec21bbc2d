import {
  type ErrorCodeWithStatus,
  type GrantAction,
  type GrantResourceType,
  PAM_AUDIENCE,
  type PamScope,
} from '@strongroom/protocol'
import type { AuditDetails } from '../../audit/chain.js'
import { PamError } from '../../errors.js'
import { TOKEN_STATE_PARAMS, tokenStateParams, withTokenState } from '../../oauth/authenticate-workload.js'
import type { Workload } from '../../services.js'
import { prepare } from '../../store/prepared.js'
import type { GrantTable } from '../../store/schema.js'
import type { AuditedUnit, Refusal } from '../audited-operation.js'
import { grantsAllow } from './grants.js'

/**
 * The calling application's grants of one resource type: one prepared statement for every
 * slice, run in the unit's transaction so the grants, the resource and the event agree.
 */
export const applicationGrants = prepare(['instanceId', 'applicationId', 'resourceType'], (db, p) =>
  db
    .selectFrom('grants')
    .select(['resource_match', 'resource', 'actions'])
    .where('instance_id', '=', p.instanceId)
    .where('application_id', '=', p.applicationId)
    .where('resource_type', '=', p.resourceType),
)

/**
 * `applicationGrants` and the calling token's state (`withTokenState`) in one statement, for a
 * unit that deferred its workload's re-read to `authorize`: one row per grant with the state on
 * each, or one row with no grant when there is none. One round trip fewer inside the batch.
 */
const grantsWithTokenState = prepare([...TOKEN_STATE_PARAMS, 'applicationId', 'resourceType'], (db, p) =>
  withTokenState(db, p)
    .leftJoin('grants as g', (join) =>
      join
        .on('g.instance_id', '=', p.instanceId)
        .on('g.application_id', '=', p.applicationId)
        .on('g.resource_type', '=', p.resourceType),
    )
    .select(['g.resource_match', 'g.resource', 'g.actions']),
)

/**
 * Refuses a token that carries none of `scopes` (RFC 6750 §3.1) as the unit's one audit event:
 * a missing scope is recorded like every other refusal.
 */
export async function refuseWithoutScope(
  unit: AuditedUnit,
  workload: Workload,
  scopes: readonly PamScope[],
  details?: AuditDetails,
): Promise<Refusal | undefined> {
  if (scopes.some((scope) => workload.scopes.has(scope))) return undefined
  const wanted = scopes.map((scope) => `${PAM_AUDIENCE}|${scope}`).join(' or ')
  return unit.refuse(
    new PamError('InsufficientScope', `the access token does not carry the scope ${wanted}`),
    'insufficient_scope',
    details,
  )
}

/** What a slice tells the gate about the resource a workload names. */
export interface AuthorizeRequest<R> {
  readonly instanceId: string
  /** Any one of these scopes suffices; checked first. Empty when the caller checked it already. */
  readonly scopes: readonly PamScope[]
  readonly resourceType: GrantResourceType
  readonly action: GrantAction
  /** The resource as the caller named it, for messages: `credential demo/api-key`. */
  readonly noun: string
  readonly ref: string
  /** Reads the resource in the unit's transaction; `undefined` when there is none. */
  find(): Promise<R | undefined>
  /** What grants match against: the row's id and identifier, or for a missing one what was named. */
  matchAs(row: R | undefined): { id: string; identifier: string }
  /** The resource's own not-found error (its code names the aggregate). */
  notFound(): PamError
  /** The resource's own refusal when it is disabled: a code `ERROR_STATUS` answers 403. */
  readonly disabledCode: ErrorCodeWithStatus<403>
  /** Tokens a provider already minted stay manageable after it is disabled. */
  readonly allowDisabled?: boolean
  /** Added to a refusal's event (the unit's own details are there already). */
  readonly details?: AuditDetails
}

/**
 * The developer API's one authorization rule, inside the operation's audited unit of work: the
 * scope, then the grant before existence (an application learns nothing about what it holds no
 * grant on), then existence, then status. Every refusal is the unit's one audit event, with the
 * same fields whatever the slice (`why`, `code`, `accessTokenId`, the resource once known).
 * What is particular to a slice (a provider's type, an account's reason) comes after, in the slice.
 */
export async function authorize<R extends { id: string; status: string }>(
  unit: AuditedUnit,
  workload: Workload,
  request: AuthorizeRequest<R>,
): Promise<R | Refusal> {
  const deferred = unit.unjudgedWorkload
  if (deferred === null) {
    const unscoped = await scopeRefusal(unit, workload, request)
    if (unscoped) return unscoped
    const row = await request.find()
    return decide(unit, request, row, await grantsOf(unit, workload, request))
  }
  // The workload's state comes with the grants, and is judged before anything else, as the unit
  // judges it before its work otherwise: a revoked token is refused as such, whatever else is
  // wrong. The resource is read before, as it would be: reading is not answering.
  const row = await request.find()
  const rows = await grantsWithTokenState.all(unit.store, unit.trx, {
    ...tokenStateParams(request.instanceId, deferred.claims, deferred.signingKid),
    applicationId: workload.applicationId,
    resourceType: request.resourceType,
  })
  const state = rows[0]
  if (!state) throw new Error('the one-row query returned no row')
  const refused = (await unit.judgeWorkload(state)) ?? (await scopeRefusal(unit, workload, request))
  if (refused) return refused
  return decide(unit, request, row, state.actions === null ? [] : (rows as GrantRow[]))
}

function scopeRefusal<R>(
  unit: AuditedUnit,
  workload: Workload,
  request: AuthorizeRequest<R>,
): Promise<Refusal | undefined> {
  if (request.scopes.length === 0) return Promise.resolve(undefined)
  return refuseWithoutScope(unit, workload, request.scopes, request.details)
}

function grantsOf<R>(unit: AuditedUnit, workload: Workload, request: AuthorizeRequest<R>) {
  return applicationGrants.all(unit.store, unit.trx, {
    instanceId: request.instanceId,
    applicationId: workload.applicationId,
    resourceType: request.resourceType,
  })
}

type GrantRow = Pick<GrantTable, 'resource_match' | 'resource' | 'actions'>

/** `authorize`'s rule on what it read, once the scope is checked: grant, existence, status. */
async function decide<R extends { id: string; status: string }>(
  unit: AuditedUnit,
  request: AuthorizeRequest<R>,
  row: R | undefined,
  grants: readonly GrantRow[],
): Promise<R | Refusal> {
  const { details } = request
  if (row) unit.about({ type: request.resourceType, id: row.id })
  if (!grantsAllow(grants, request.matchAs(row), request.action)) {
    return unit.refuse(
      new PamError(
        'PermissionDenied',
        `this application holds no ${request.action} grant on ${request.noun} ${request.ref}`,
      ),
      'no_grant',
      details,
    )
  }
  if (!row) return unit.refuse(request.notFound(), 'not_found', details)
  if (row.status !== 'enabled' && !request.allowDisabled) {
    return unit.refuse(
      new PamError(request.disabledCode, `${request.noun} ${request.ref} is disabled`),
      'disabled',
      details,
    )
  }
  return row
}
