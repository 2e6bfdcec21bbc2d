import { type Static, Type } from '@sinclair/typebox'
import { Description, EpochMillis, Name, page, resourceId } from './common.js'

const closed = { additionalProperties: false } as const

export const InstanceId = resourceId('idaas')

export const Instance = Type.Object({
  instanceId: InstanceId,
  name: Name,
  description: Description,
  createTime: EpochMillis,
  updateTime: EpochMillis,
})
export type Instance = Static<typeof Instance>
export const CreateInstanceBody = Type.Object({ name: Name, description: Type.Optional(Description) }, closed)
export type CreateInstanceBody = Static<typeof CreateInstanceBody>
export const InstancePage = page(Instance)
export type InstancePage = Static<typeof InstancePage>
