import { ErrorBody } from '@strongroom/protocol'
import type { RouteSpec } from './route-table.js'

/** OpenAPI 3.1 generated from the route table: the schemas published are the schemas enforced. */
export function openApiDocument(routes: RouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}')
    const parameters: unknown[] = []
    for (const [where, schema] of [
      ['path', r.params],
      ['query', r.querystring],
    ] as const) {
      const props =
        (schema as { properties?: Record<string, unknown>; required?: string[] } | undefined)?.properties ??
        {}
      const required = (schema as { required?: string[] } | undefined)?.required ?? []
      for (const [name, s] of Object.entries(props)) {
        parameters.push({ name, in: where, required: where === 'path' || required.includes(name), schema: s })
      }
    }
    const responses: Record<string, unknown> = {
      [r.success.status]: r.success.schema
        ? { description: 'success', content: { 'application/json': { schema: r.success.schema } } }
        : r.success.contentType
          ? { description: 'success', content: { [r.success.contentType]: { schema: { type: 'string' } } } }
          : { description: 'success, no body' },
      default: { description: 'error', content: { 'application/json': { schema: ErrorBody } } },
    }
    paths[path] ??= {}
    paths[path][r.method.toLowerCase()] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      ...(r.auth === 'admin' ? { security: [{ adminToken: [] }] } : {}),
      ...(r.auth === 'workload' ? { security: [{ accessToken: [] }] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } }
        : {}),
      responses,
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'strongroom', version, description: 'Privileged access management for workloads' },
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'an admin token (srat_…)' },
        accessToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "an access token of the instance's authorization server (iauths_system)",
        },
      },
    },
    paths,
  }
}
