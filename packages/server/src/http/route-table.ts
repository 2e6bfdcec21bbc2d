import type { Static, TSchema } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Caller, Workload } from '../services.js'

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** `admin`: an admin token; `workload`: an application's access token (developer API); `none`. */
export type Auth = 'admin' | 'workload' | 'none'

/** The caller a handler gets: on a workload route, always with the workload its token names. */
export type CallerOf<A extends Auth> = A extends 'workload'
  ? Caller & { readonly workload: Workload }
  : Caller

/**
 * The parsed, validated parts of a request handed to a route's handler. Through `defineRoute`,
 * `params`, `query` and `body` are typed as the route's schemas enforce them; the defaults are
 * the erased shape the app passes to every handler.
 */
export interface RouteInput<
  A extends Auth = Auth,
  P = Record<string, string>,
  Q = Record<string, unknown>,
  B = unknown,
> {
  params: P
  query: Q
  body: B
  caller: CallerOf<A>
  request: FastifyRequest
  reply: FastifyReply
}

/**
 * One route: its schemas and its handler. The same table registers the Fastify routes and
 * generates `/openapi.json`, so the published document cannot drift from what is enforced.
 * Route files build them with `defineRoute`; this is the erased shape the app and the OpenAPI
 * generator read.
 */
export interface RouteSpec {
  method: Method
  url: string
  operationId: string
  summary: string
  tag: string
  auth: Auth
  params?: TSchema
  querystring?: TSchema
  body?: TSchema
  /**
   * Status of a success, and its body schema (`null` for no body, or for a body that is not
   * JSON: then `contentType` names it and the handler returns a string).
   */
  success: { status: 200 | 201 | 204; schema: TSchema | null; contentType?: string }
  handler(input: RouteInput): Promise<unknown>
}

/** What a schema declares, or `Absent` where the route declares none. */
type Declared<S, Absent> = S extends TSchema ? Static<S> : Absent

/** A route as written: its handler's input and answer follow from the schemas beside it. */
export interface RouteDefinition<
  A extends Auth,
  P extends TSchema | undefined,
  Q extends TSchema | undefined,
  B extends TSchema | undefined,
  S extends TSchema | null,
> extends Omit<RouteSpec, 'auth' | 'params' | 'querystring' | 'body' | 'success' | 'handler'> {
  auth: A
  params?: P
  querystring?: Q
  body?: B
  success: { status: 200 | 201 | 204; schema: S; contentType?: string }
  handler(
    input: RouteInput<
      A,
      Declared<P, Record<string, never>>,
      Declared<Q, Record<string, never>>,
      Declared<B, undefined>
    >,
  ): Promise<Declared<S, unknown>>
}

/**
 * Declares a route. Its handler's `params`, `query` and `body` are `Static<>` of the schemas it
 * declares (the validator has enforced them before the handler runs, with the query converted to
 * the schema's types and a body of optional fields defaulted to `{}`), its `caller` carries the
 * workload on a `workload` route, and what it answers must match the success schema:
 *
 * ```ts
 * defineRoute({
 *   auth: 'admin', method: 'GET', url: '/admin/v1/instances/:instanceId', operationId: 'getInstance',
 *   summary: 'Show an instance', tag: 'instances',
 *   params: Type.Object({ instanceId: InstanceId }),
 *   success: { status: 200, schema: Instance },
 *   handler: ({ caller, params }) => getInstance(s, caller, params.instanceId),
 * })
 * ```
 */
export function defineRoute<
  const A extends Auth,
  P extends TSchema | undefined = undefined,
  Q extends TSchema | undefined = undefined,
  B extends TSchema | undefined = undefined,
  S extends TSchema | null = null,
>(route: RouteDefinition<A, P, Q, B, S>): RouteSpec {
  // Erased for the table: the app hands every handler the request's parts after validation
  // against these same schemas, which is what the typed input above says.
  return route as unknown as RouteSpec
}

/**
 * Calls per second a source address may make to the operations that take no token (`auth:
 * 'none'`, each of which needs a rate limit of its own), after a burst.
 */
export const UNAUTHENTICATED_RATE = { burst: 200, refillPerSecond: 100 }
