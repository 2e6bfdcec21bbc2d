import { fileURLToPath } from 'node:url'
import { createPamClient, type PamClient } from '@strongroom/sdk'

/**
 * Runs an example's `run(pam)` when its file is the program (`node examples/dist/<name>.js`),
 * with a client from the IDaaS client configuration (after `npm start`:
 * `export CLOUD_IDAAS_CONFIG_PATH=$PWD/.strongroom/client-config.json` and
 * `export IDAAS_CLIENT_SECRET=$(cat .strongroom/client-secret)`). Tests import `run` instead.
 */
export async function runExample(moduleUrl: string, run: (pam: PamClient) => Promise<void>): Promise<void> {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return
  try {
    await using pam = await createPamClient()
    await run(pam)
  } catch (err) {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : err)
    process.exitCode = 1
  }
}

/**
 * Shows that a secret arrived without printing any of it: its length only. Not even a prefix (an
 * 8-character password would show 5 of them) or a hash (a short password's hash can be searched).
 */
export const masked = (secret: string) => `[${secret.length} characters, not shown]`
