// Runs once per `vitest run`: starts the PostgreSQL server the storage tests use and stops it at the
// end. Tests read the URL with `inject('postgresUrl')` (or process.env.STRONGROOM_TEST_PG_URL) and
// usually call `createTestDatabase(url)` to get a database of their own.
import type { TestProject } from 'vitest/node'
import { createTestDatabase, startPostgres } from './postgres.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgres://postgres@127.0.0.1:PORT/strongroom_test` on the server started for this run. */
    postgresUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = performance.now()
  const server = await startPostgres()
  try {
    const url = await createTestDatabase(server.url, 'strongroom_test')
    project.provide('postgresUrl', url)
    process.env['STRONGROOM_TEST_PG_URL'] = url
    if (process.env['STRONGROOM_TEST_VERBOSE']) {
      const ms = Math.round(performance.now() - startedAt)
      console.log(`PostgreSQL started on port ${server.port} in ${ms} ms (${server.baseDir})`)
    }
  } catch (error) {
    await server.stop()
    throw error
  }
  return async () => {
    await server.stop()
  }
}
