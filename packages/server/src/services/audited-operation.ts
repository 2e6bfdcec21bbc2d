import type { AuditDetails } from '../audit/chain.js'
import { InvalidToken, type PamError } from '../errors.js'
import { refusedByState, type TokenState, workloadRefusedSince } from '../oauth/authenticate-workload.js'
import type { Caller, Services, Workload } from '../services.js'
import type { Unit } from '../store/committer.js'
import type { Store } from '../store/connect.js'

/** What a unit returns to refuse: the refusal's event is in the same commit, the error is thrown after it. */
export class Refusal {
  constructor(readonly error: PamError) {}
}

export interface AuditedUnit extends Unit {
  /** The store, for prepared statements run in `trx`. */
  readonly store: Store
  /** Names the resource the operation is about, once it is known; later events carry it. */
  about(resource: { type: string; id: string }): void
  /** Records the operation as `denied` with why, and returns the refusal to return from the unit. */
  refuse(error: PamError, why: string, details?: AuditDetails): Promise<Refusal>
  /** Records the operation as a `failure` (something outside the caller's control broke), and returns the refusal. */
  fail(error: PamError, why: string, details?: AuditDetails): Promise<Refusal>
  /** Records the operation as a `success`. */
  succeed(details?: AuditDetails): Promise<void>
  /**
   * The calling workload while its token's state is still to be read in this unit: an operation
   * run with `{ workloadState: 'with-grants' }` leaves that to `authorize`, which reads it in its
   * grants statement and judges it with `judgeWorkload`; null once judged, or for any other unit.
   */
  readonly unjudgedWorkload: Workload | null
  /** Judges the workload's state as read in the unit: the refusal to return (audited), or undefined. */
  judgeWorkload(state: TokenState): Promise<Refusal | undefined>
}

/** How an operation re-reads its workload's state in the unit (see `auditedOperation`). */
export interface AuditedOperationOptions {
  /**
   * `first` (the default): in a statement of its own, before the work. `with-grants`: in the
   * statement `authorize` reads the grants with, one round trip fewer inside the batch; for an
   * operation whose work starts with `authorize` (or a slice's wrapper of it) and reads nothing
   * it answers before. A success recorded before it was judged fails the unit (500), never answers.
   */
  workloadState?: 'first' | 'with-grants'
}

/**
 * A developer-API operation as one unit of work with exactly one audit event: success or refusal,
 * with the calling application, the resource and the details. Fail closed: the answer leaves only
 * once the event is committed, and a refusal is thrown only after its event is.
 */
export async function auditedOperation<T>(
  s: Services,
  caller: Caller,
  event: AuditedEvent,
  work: (unit: AuditedUnit) => Promise<T | Refusal>,
  options: AuditedOperationOptions = {},
): Promise<T> {
  const deferred = options.workloadState === 'with-grants'
  const result = await s.committer.run(async (unit) => {
    // The instance's audit head first, which every change to its grants, credentials,
    // applications and tokens holds until it commits: what this unit reads next was committed
    // before it, or waits for this unit and is chained after its event. Read before (as it was),
    // a grant deleted or a credential rotated on another node in between was not seen, and the
    // value was answered after the change had been acknowledged.
    await unit.audit.hold(event.instanceId)
    const workload = caller.workload
    const operation = new OperationUnit(unit, s, caller, event, deferred ? (workload ?? null) : null)
    if (workload && !deferred) {
      const why = await workloadRefusedSince(s, unit.trx, event.instanceId, workload)
      if (why !== null) return operation.refuse(workloadRefused(workload, why), why)
    }
    const result = await work(operation)
    // As `succeed` does: whatever the unit answers, its workload was judged in it.
    if (!(result instanceof Refusal) && operation.unjudgedWorkload)
      throw new Error(`${event.action}: answered before the workload's state was read in the unit`)
    return result
  })
  if (result instanceof Refusal) throw result.error
  return result
}

/**
 * A workload refused in its unit: its token (or, for an OCI request signature, which presents none,
 * the application key that signed) no longer may. 401 as at the door.
 */
function workloadRefused(workload: Workload, why: string): InvalidToken {
  const what = workload.signingKid === null ? 'the request signature' : 'the bearer token'
  return new InvalidToken(`${what} was refused: ${why}`)
}

/** The one event an audited operation records, but for its outcome and what the unit adds. */
interface AuditedEvent {
  instanceId: string
  action: string
  details?: AuditDetails
  /** Why the caller says it needs the resource (a retrieval's `reason`): the event's reason column. */
  reason?: string | undefined
}

/**
 * A unit of work that records its operation's event. A class rather than an object of closures
 * made per request: on the hot path (ObtainCredential) the closures and the spread of the unit
 * cost about 3 µs a request, the class's instance a fraction of that.
 */
class OperationUnit implements AuditedUnit {
  readonly trx: Unit['trx']
  readonly audit: Unit['audit']
  readonly changes: Unit['changes']
  readonly store: Store
  private resource: { type: string; id: string } | undefined

  constructor(
    unit: Unit,
    private readonly s: Services,
    private readonly caller: Caller,
    private readonly event: AuditedEvent,
    public unjudgedWorkload: Workload | null,
  ) {
    this.trx = unit.trx
    this.audit = unit.audit
    this.changes = unit.changes
    this.store = s.store
  }

  async judgeWorkload(state: TokenState): Promise<Refusal | undefined> {
    const workload = this.unjudgedWorkload
    if (!workload) throw new Error('judgeWorkload: this unit has no workload left to judge')
    this.unjudgedWorkload = null
    const why = refusedByState(this.s, workload, state)
    if (why === null) return undefined
    return this.refuse(workloadRefused(workload, why), why)
  }

  about(resource: { type: string; id: string }): void {
    this.resource = resource
  }

  async refuse(error: PamError, why: string, details: AuditDetails = {}): Promise<Refusal> {
    await this.append('denied', { ...details, why, code: error.code })
    return new Refusal(error)
  }

  async fail(error: PamError, why: string, details: AuditDetails = {}): Promise<Refusal> {
    await this.append('failure', { ...details, why, code: error.code })
    return new Refusal(error)
  }

  async succeed(details: AuditDetails = {}): Promise<void> {
    // Fail closed: an operation that deferred the re-read of its workload's state to `authorize`
    // and succeeded without it would answer a revoked token. A bug, never a value.
    if (this.unjudgedWorkload)
      throw new Error(`${this.event.action}: success before the workload's state was read in the unit`)
    await this.append('success', details)
  }

  private async append(outcome: 'success' | 'denied' | 'failure', details: AuditDetails): Promise<void> {
    const { caller, event, resource } = this
    await this.audit.append({
      instanceId: event.instanceId,
      actor: caller.actor,
      action: event.action,
      ...(resource ? { resource } : {}),
      ...(event.reason === undefined ? {} : { reason: event.reason }),
      outcome,
      details: {
        ...event.details,
        ...(caller.workload ? { accessTokenId: caller.workload.tokenId } : {}),
        ...details,
      },
      request: caller.request,
    })
  }
}
