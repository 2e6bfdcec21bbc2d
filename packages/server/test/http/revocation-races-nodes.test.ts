// Races between a revocation and a use, on two PostgreSQL nodes and on one: no value, token or
// secret is answered after the change that should refuse it was acknowledged, and the audit chain
// never records a use after it. Found by an attacker's review: the unit answering a workload read
// its grants, credential and token state before taking the instance's audit head, which every
// such change holds until it commits, so a change committed meanwhile on another node (or in this
// node's previous batch) was not seen. A third connection holds the head for a moment, as another
// node's batch would, so that both sides are in flight at once.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestServer } from '../support/engines.js'
import {
  admin,
  type Cluster,
  createWorkload,
  holdHead,
  openCluster,
  pam,
  send,
  tokenFrom,
  type Workload,
} from './nodes-support.js'

const OBTAIN = (id: string) => `/credentials/_/actions/obtain?credentialIdentifier=${encodeURIComponent(id)}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function events(c: Cluster, actions: string[]) {
  const rows = await sql<{ seq: number; action: string; outcome: string; resource_id: string | null }>`
    select seq, action, outcome, resource_id from audit_events
    where instance_id = ${c.instanceId} and action in (${sql.join(actions)}) order by seq`.execute(
    c.nodes[0]!.services.store.db,
  )
  return rows.rows.map((r) => `${r.seq} ${r.action} ${r.outcome}`)
}

describe('revocation vs use races (PostgreSQL, two nodes)', () => {
  let c: Cluster
  let a: TestServer
  let b: TestServer
  let w: Workload
  let n = 0

  beforeAll(async () => {
    c = await openCluster(['race_a', 'race_b'])
    ;[a, b] = c.nodes as [TestServer, TestServer]
  })
  afterAll(async () => {
    await c?.close()
  })

  async function setup(tag: string) {
    n++
    w = await createWorkload(c, a, `${tag}-${n}`)
    const id = `race/${tag}-${n}`
    expect(
      (
        await admin(c, a, 'POST', '/credentials', {
          credentialIdentifier: id,
          credentialType: 'api_key',
          value: { apiKey: `${id}-v1` },
        })
      ).status,
    ).toBe(201)
    const g = await admin(c, a, 'POST', '/grants', {
      applicationId: w.applicationId,
      resourceType: 'credential',
      resource: id,
      actions: ['obtain'],
    })
    expect(g.status).toBe(201)
    const token = await tokenFrom(c, a, w)
    expect((await pam(c, a, token, 'GET', OBTAIN(id))).status).toBe(200)
    return { id, grantId: g.body.grantId as string, token }
  }

  /** Runs revoke (through `rNode`) and use (through `uNode`) while a third party holds the head. */
  async function race(
    revoke: () => Promise<{ status: number }>,
    use: ReturnType<typeof pam> extends Promise<infer R> ? () => Promise<R> : never,
    withHeld = true,
  ) {
    const order: string[] = []
    const unlock = withHeld ? await holdHead(a, c.instanceId) : async () => {}
    const r = revoke().then((x) => {
      order.push(`revoke ${x.status}`)
      return x
    })
    await sleep(100) // the revoking unit has written and waits for the chain head
    const u = use().then((x) => {
      order.push(`use ${x.status}`)
      return x
    })
    await sleep(100) // the using unit has read and waits for the chain head (or is queued)
    await unlock()
    const [rr, uu] = await Promise.all([r, u])
    return { order, revoke: rr, use: uu }
  }

  it('grant delete on node B vs ObtainCredential on node A', async () => {
    const { id, grantId, token } = await setup('grant')
    const res = await race(
      () => admin(c, b, 'DELETE', `/grants/${grantId}`),
      () => pam(c, a, token, 'GET', OBTAIN(id)),
    )
    expect(res.order).toEqual(['revoke 204', 'use 403'])
    // And the chain says so: the obtain after the delete, refused.
    const chained = await events(c, ['grant.delete', 'credential.obtain'])
    expect(chained.slice(-2).map((e) => e.replace(/^\d+ /, ''))).toEqual([
      'grant.delete success',
      'credential.obtain denied',
    ])
  })

  it('credential rotate on node B vs ObtainCredential on node A', async () => {
    const { id, token } = await setup('rotate')
    const res = await race(
      () =>
        admin(c, b, 'POST', `/credentials/${encodeURIComponent(id)}/versions`, {
          value: { apiKey: `${id}-v2` },
        }),
      () => pam(c, a, token, 'GET', OBTAIN(id)),
    )
    expect(res.use.body?.credentialContent?.apiKeyContent?.apiKey).toBe(`${id}-v2`)
  })

  it('credential disable on node B vs ObtainCredential on node A', async () => {
    const { id, token } = await setup('disable')
    const res = await race(
      () => admin(c, b, 'POST', `/credentials/${encodeURIComponent(id)}/disable`),
      () => pam(c, a, token, 'GET', OBTAIN(id)),
    )
    expect(res.order).toEqual(['revoke 200', 'use 403'])
  })

  it('application disable on node A vs ObtainCredential on node A (same node)', async () => {
    const { id, token } = await setup('appdis')
    const res = await race(
      () => admin(c, a, 'POST', `/applications/${w.applicationId}/disable`),
      () => pam(c, a, token, 'GET', OBTAIN(id)),
    )
    expect(res.order).toEqual(['revoke 200', 'use 401'])
  })

  it('access token revoke (oauth2/revoke) on node B vs ObtainCredential on node A', async () => {
    const { id, token } = await setup('atrev')
    const res = await race(
      () =>
        send(b, 'POST', `/v2/${c.instanceId}/authorizationServer/iauths_system/oauth2/revoke`, {
          form: { token, client_id: w.clientId, client_secret: w.secret },
        }),
      () => pam(c, a, token, 'GET', OBTAIN(id)),
    )
    expect(res.order).toEqual(['revoke 200', 'use 401'])
  })

  it('access token revoke on node A vs ObtainCredential on node A (same node)', async () => {
    const { id, token } = await setup('atrev1')
    const res = await race(
      () =>
        send(a, 'POST', `/v2/${c.instanceId}/authorizationServer/iauths_system/oauth2/revoke`, {
          form: { token, client_id: w.clientId, client_secret: w.secret },
        }),
      () => pam(c, a, token, 'GET', OBTAIN(id)),
    )
    expect(res.order).toEqual(['revoke 200', 'use 401'])
  })

  it('application disable on node B vs token endpoint on node A', async () => {
    await setup('apptok')
    const res = await race(
      () => admin(c, b, 'POST', `/applications/${w.applicationId}/disable`),
      () =>
        send(a, 'POST', `/v2/${c.instanceId}/authorizationServer/iauths_system/oauth2/token`, {
          form: {
            grant_type: 'client_credentials',
            client_id: w.clientId,
            client_secret: w.secret,
            scope: 'urn:cloud:idaas:pam|.all',
          },
        }),
    )
    expect(res.order).toEqual(['revoke 200', 'use 401'])
    expect(res.use.body.error).toBe('invalid_client')
  })

  it('admin token revoke on node A vs that token minting a client secret on node A', async () => {
    await setup('admtok')
    const t = await send(a, 'POST', '/admin/v1/admin-tokens', {
      headers: c.auth,
      body: { name: `victim-${n}` },
    })
    expect(t.status, JSON.stringify(t.body)).toBe(201)
    const victim = { authorization: `Bearer ${t.body.token ?? t.body.adminToken ?? t.body.secret}` }
    const res = await race(
      () =>
        send(a, 'POST', `/admin/v1/admin-tokens/${t.body.adminTokenId ?? t.body.id}/revoke`, {
          headers: c.auth,
        }),
      () =>
        send(
          a,
          'POST',
          `/admin/v1/instances/${c.instanceId}/applications/${w.applicationId}/client-secrets`,
          { headers: victim, body: {} },
        ),
    )
    expect(res.order).toEqual(['revoke 200', 'use 401'])
  })

  // The admin token is checked as the request arrives; its revocation audits the system chain, not
  // the instance's, so holding the instance's head does not order the two. A call already past its
  // check when the revocation was acknowledged made its change afterwards.
  it('an admin call in flight when its token is revoked (on the other node) makes no change after the revocation', async () => {
    await setup('admflight')
    const t = await send(a, 'POST', '/admin/v1/admin-tokens', {
      headers: c.auth,
      body: { name: `flight-${n}` },
    })
    expect(t.status, JSON.stringify(t.body)).toBe(201)
    const victim = { authorization: `Bearer ${t.body.token ?? t.body.adminToken ?? t.body.secret}` }
    const order: string[] = []
    const unlock = await holdHead(a, c.instanceId)
    // Past its check, waiting for the instance's head to audit the new secret.
    const use = send(
      a,
      'POST',
      `/admin/v1/instances/${c.instanceId}/applications/${w.applicationId}/client-secrets`,
      {
        headers: victim,
        body: {},
      },
    ).then((x) => {
      order.push(`use ${x.status}`)
      return x
    })
    await sleep(100)
    const revoked = await send(
      b,
      'POST',
      `/admin/v1/admin-tokens/${t.body.adminTokenId ?? t.body.id}/revoke`,
      {
        headers: c.auth,
      },
    )
    order.push(`revoke ${revoked.status}`)
    await unlock()
    await use
    expect(order).toEqual(['revoke 200', 'use 401'])
    const secrets = await admin(c, a, 'GET', `/applications/${w.applicationId}/client-secrets`)
    expect(secrets.body.entities ?? secrets.body).toHaveLength(1)
  })

  it('grant delete vs obtain, natural timing, no third party (30 rounds): audit order', async () => {
    let bad = 0
    for (let i = 0; i < 30; i++) {
      const { id, grantId, token } = await setup(`nat${i}`)
      const r = admin(c, b, 'DELETE', `/grants/${grantId}`)
      const uses = Array.from({ length: 3 }, (_, k) =>
        sleep(k).then(() => pam(c, a, token, 'GET', OBTAIN(id))),
      )
      await Promise.all([r, ...uses])
      const rows = await sql<{ seq: number; action: string; outcome: string }>`
        select seq, action, outcome from audit_events where instance_id = ${c.instanceId}
        and ((action = 'grant.delete' and resource_id = ${grantId}) or (action = 'credential.obtain' and details like ${'%' + id + '"%'}))
        order by seq`.execute(a.services.store.db)
      const del = rows.rows.find((x) => x.action === 'grant.delete')!.seq
      bad += rows.rows.filter(
        (x) => x.action === 'credential.obtain' && x.outcome === 'success' && x.seq > del,
      ).length
    }
    expect(bad).toBe(0)
  })
})
