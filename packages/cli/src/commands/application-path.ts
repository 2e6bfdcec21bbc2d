import { type Context, segment } from '../context.js'

/** `/admin/v1/instances/:instanceId/applications[/:applicationId]`. */
export async function applicationPath(ctx: Context, applicationId?: string): Promise<string> {
  return ctx.instancePath(
    applicationId === undefined ? '/applications' : `/applications/${segment(applicationId)}`,
  )
}
