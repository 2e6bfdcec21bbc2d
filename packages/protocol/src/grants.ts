import { type Static, Type } from '@sinclair/typebox'
import { ApplicationId } from './applications.js'
import { EpochMillis, PageQuery, page, resourceId } from './common.js'
import { InstanceId } from './instances.js'

const closed = { additionalProperties: false } as const

export const GrantId = resourceId('grant')

export const GRANT_RESOURCE_TYPES = [
  'credential',
  'account',
  'credential_provider',
  'cloud_account_role',
] as const
export type GrantResourceType = (typeof GRANT_RESOURCE_TYPES)[number]
export const GRANT_ACTIONS = ['obtain', 'use', 'read', 'manage'] as const
export type GrantAction = (typeof GRANT_ACTIONS)[number]

export const Grant = Type.Object({
  grantId: GrantId,
  instanceId: InstanceId,
  applicationId: ApplicationId,
  resourceType: Type.Union(GRANT_RESOURCE_TYPES.map((t) => Type.Literal(t))),
  /** `exact`: `resource` is the resource's id or identifier; `prefix`: identifiers starting with it. */
  resourceMatch: Type.Union([Type.Literal('exact'), Type.Literal('prefix')]),
  resource: Type.String({ minLength: 1, maxLength: 128 }),
  actions: Type.Array(Type.Union(GRANT_ACTIONS.map((a) => Type.Literal(a))), {
    minItems: 1,
    maxItems: GRANT_ACTIONS.length,
    uniqueItems: true,
  }),
  createTime: EpochMillis,
})
export type Grant = Static<typeof Grant>
export const CreateGrantBody = Type.Object(
  {
    applicationId: ApplicationId,
    resourceType: Grant.properties.resourceType,
    resourceMatch: Type.Optional(Grant.properties.resourceMatch),
    resource: Grant.properties.resource,
    actions: Grant.properties.actions,
  },
  closed,
)
export type CreateGrantBody = Static<typeof CreateGrantBody>
export const GrantListQuery = Type.Object(
  {
    ...PageQuery,
    applicationId: Type.Optional(ApplicationId),
    resourceType: Type.Optional(Grant.properties.resourceType),
  },
  closed,
)
export type GrantListQuery = Static<typeof GrantListQuery>
export const GrantPage = page(Grant)
export type GrantPage = Static<typeof GrantPage>
