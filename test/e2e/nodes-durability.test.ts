// Several nodes on one PostgreSQL, a node's death: three real server processes share a database,
// 200 concurrent writers are spread over them, and one node is killed with SIGKILL mid-load. Every
// write a node acknowledged is in the database afterwards, the other nodes kept answering through
// the kill, and every audit chain verifies (offline, on the database itself).
import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createTestDatabase } from '../support/postgres.js'
import { runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { allIdentifiers, waitFor, whoami, writeLoad } from './write-load.js'

describe('three nodes on one PostgreSQL, one killed under 200 concurrent writers', () => {
  const nodes: ServerProcess[] = []
  afterAll(async () => {
    for (const node of nodes) await node.stop()
  })

  it('loses no acknowledged write, keeps the others answering, and leaves every chain intact', async () => {
    const db = await createTestDatabase(inject('postgresUrl'))
    const env = { STRONGROOM_DB: db, STRONGROOM_ROOT_KEY: randomBytes(32).toString('base64') }
    // The first node migrates and bootstraps; the others find it done.
    nodes.push(await startServer({ env }))
    nodes.push(await startServer({ env }), await startServer({ env }))
    const token = await nodes[0]!.adminToken()
    const { defaultInstanceId } = await whoami(nodes[0]!, token)
    const loads = nodes.map((node, i) =>
      writeLoad(node, token, defaultInstanceId, i === 0 ? 66 : 67, `node${i}`),
    )
    const acknowledged = () => loads.reduce((sum, load) => sum + load.answered(), 0)
    await waitFor(() => acknowledged() >= 300, 60_000)

    const victim = nodes[1]!
    await victim.kill9()
    const atKill = loads.map((load) => load.answered())
    // The survivors go on acknowledging writes after the kill.
    await waitFor(
      () => loads[0]!.answered() >= atKill[0]! + 50 && loads[2]!.answered() >= atKill[2]! + 50,
      30_000,
    )
    for (const load of loads) await load.stop()

    expect(loads[1]!.outcomes.some((o) => o.status === 0)).toBe(true) // the kill cut writes short
    const survivorsAnswers = [...loads[0]!.outcomes, ...loads[2]!.outcomes]
    expect(survivorsAnswers.every((o) => o.status === 201)).toBe(true)

    const written = loads.flatMap((load) =>
      load.outcomes.filter((o) => o.status === 201).map((o) => o.identifier),
    )
    expect(written.length).toBeGreaterThanOrEqual(400)
    // Listed through the first node (the CLI finds its admin token in that node's data folder).
    const present = await allIdentifiers(nodes[0]!)
    expect(written.filter((id) => !present.has(id))).toEqual([])

    const verify = await runCli(['audit', 'verify', '--db', db])
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    expect(verify.stdout).toMatch(/intact/)
  }, 120_000)
})
