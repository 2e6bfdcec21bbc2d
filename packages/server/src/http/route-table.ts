import type { TSchema } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Caller } from '../services.js'

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** The parsed, validated parts of a request handed to a route's handler. */
export interface RouteInput {
  params: Record<string, string>
  query: Record<string, unknown>
  body: unknown
  caller: Caller
  request: FastifyRequest
  reply: FastifyReply
}

/**
 * One route: its schemas and its handler. The same table registers the Fastify routes and
 * generates `/openapi.json`, so the published document cannot drift from what is enforced.
 */
export interface RouteSpec {
  method: Method
  url: string
  operationId: string
  summary: string
  tag: string
  /** `admin`: an admin token; `workload`: an application's access token (developer API); `none`. */
  auth: 'admin' | 'workload' | 'none'
  params?: TSchema
  querystring?: TSchema
  body?: TSchema
  /**
   * Status of a success, and its body schema (`null` for no body, or for a body that is not
   * JSON: then `contentType` names it and the handler returns a string).
   */
  success: { status: 200 | 201 | 204; schema: TSchema | null; contentType?: string }
  /** Method syntax on purpose: a handler may narrow `body` and `query` to the types its schemas enforce. */
  handler(input: RouteInput): Promise<unknown>
}
