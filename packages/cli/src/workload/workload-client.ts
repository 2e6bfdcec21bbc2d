import type { PamClient } from '@strongroom/sdk'
import { Option } from 'commander'
import type { Context } from '../context.js'
import { version } from '../version.js'

/** `--config PATH`: the IDaaS client configuration the SDK reads, for the commands a workload runs. */
export const configOption = () =>
  new Option(
    '--config <path>',
    'the client configuration file (default: $CLOUD_IDAAS_CONFIG_PATH, else ~/.cloud_idaas/client-config.json)',
  )

export interface WorkloadOptions {
  config?: string
}

/**
 * A PAM client found exactly as the SDK finds one (`createPamClient()`): the client configuration
 * file and the default credential chain (`CLOUD_IDAAS_*` variables, an OIDC token file, the file's
 * `authnConfiguration`). The SDK is loaded only by the commands that need it.
 */
export async function workloadClient(ctx: Context, options: WorkloadOptions): Promise<PamClient> {
  const { createPamClient } = await import('@strongroom/sdk')
  const env = { ...ctx.io.env } as NodeJS.ProcessEnv
  return createPamClient({
    ...(options.config === undefined ? {} : { configPath: options.config }),
    env,
    http: {
      env,
      fetch: ctx.io.fetch,
      userAgent: `strongroom-cli/${version} node/${process.versions.node}`,
    },
  })
}
