import { type Static, Type } from '@sinclair/typebox'
import { EpochMillis, ExpiresIn, Name, page, resourceId } from './common.js'
import { InstanceId } from './instances.js'

const closed = { additionalProperties: false } as const

export const AdminTokenId = resourceId('atk')

/** `GET /admin/v1/whoami`: the admin token in use and the instance commands default to. */
export const WhoAmI = Type.Object({
  adminTokenId: AdminTokenId,
  name: Type.String(),
  /** The only instance the token may administer; null for an operator token. */
  instanceId: Type.Union([InstanceId, Type.Null()]),
  defaultInstanceId: InstanceId,
})
export type WhoAmI = Static<typeof WhoAmI>

export const AdminToken = Type.Object({
  adminTokenId: AdminTokenId,
  name: Name,
  /** The only instance the token may administer; null for an operator token over all instances. */
  instanceId: Type.Union([InstanceId, Type.Null()]),
  hint: Type.String({ description: 'the last four characters, to tell tokens apart' }),
  revoked: Type.Boolean(),
  createTime: EpochMillis,
  expirationTime: Type.Union([EpochMillis, Type.Null()]),
  lastUsedTime: Type.Union([EpochMillis, Type.Null()]),
})
export type AdminToken = Static<typeof AdminToken>
export const CreateAdminTokenBody = Type.Object(
  { name: Name, instanceId: Type.Optional(InstanceId), expiresInSeconds: Type.Optional(ExpiresIn) },
  closed,
)
export type CreateAdminTokenBody = Static<typeof CreateAdminTokenBody>
export const CreatedAdminToken = Type.Composite([AdminToken, Type.Object({ token: Type.String() })])
export type CreatedAdminToken = Static<typeof CreatedAdminToken>
export const AdminTokenPage = page(AdminToken)
export type AdminTokenPage = Static<typeof AdminTokenPage>
