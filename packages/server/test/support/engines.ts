import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { inject } from 'vitest'
import { createTestDatabase } from '../../../../test/support/postgres.js'
import { type AppOptions, buildApp } from '../../src/http/app.js'
import { closeServices, openServices } from '../../src/server.js'
import type { Services } from '../../src/services.js'
import type { StsClient } from '../../src/sts/assume-role.js'

/** Every storage test runs on both real engines. */
export const ENGINES = ['sqlite', 'postgres'] as const
export type Engine = (typeof ENGINES)[number]

export interface TestServer {
  engine: Engine
  db: string
  rootKey: string
  services: Services
  app: FastifyInstance
  adminToken: string
  instanceId: string
  /** `Authorization` header of the bootstrap admin token. */
  auth: { authorization: string }
  close(): Promise<void>
}

/** A fresh database on `engine`: a temp SQLite file, or a new database on the harness's PostgreSQL. */
export async function freshDatabase(engine: Engine): Promise<{ db: string; cleanup: () => void }> {
  if (engine === 'postgres') return { db: await createTestDatabase(inject('postgresUrl')), cleanup: () => {} }
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-test-'))
  return {
    db: `sqlite:${join(dir, 'strongroom.db')}`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** The real start-up path (migrate, key check, bootstrap) and the real app, without a listener. */
export async function openTestServer(
  engine: Engine,
  options: { now?: () => number; db?: string; rootKey?: string; app?: AppOptions; sts?: StsClient } = {},
): Promise<TestServer> {
  const fresh = options.db ? { db: options.db, cleanup: () => {} } : await freshDatabase(engine)
  const rootKey = options.rootKey ?? randomBytes(32).toString('base64')
  const { services, boot } = await openServices(
    { db: fresh.db, rootKey: { kind: 'env', base64: rootKey }, dataDir: null },
    options.now,
    options.sts === undefined ? {} : { sts: options.sts },
  )
  const app = buildApp(services, options.app)
  await app.ready()
  const adminToken = boot.adminToken ?? ''
  return {
    engine,
    db: fresh.db,
    rootKey,
    services,
    app,
    adminToken,
    instanceId: boot.defaultInstanceId,
    auth: { authorization: `Bearer ${adminToken}` },
    close: async () => {
      await app.close()
      await closeServices(services)
      fresh.cleanup()
    },
  }
}

/** JSON request through `app.inject` with the admin token, returning status and parsed body. */
export async function call(
  t: TestServer,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = t.auth,
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the assertions
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const res = await t.app.inject({
    method,
    url,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  })
  return { status: res.statusCode, body: res.body === '' ? null : JSON.parse(res.body), headers: res.headers }
}
