// ObtainCredential: the API key of a credential the application holds an `obtain` grant on.
//   node packages/sdk/examples/dist/get-api-key.js
import type { PamClient } from '@strongroom/sdk'
import { masked, runExample } from './run-example.js'

export async function run(pam: PamClient, credential = 'demo/api-key'): Promise<string> {
  const apiKey = await pam.getApiKey(credential) // Python: get_api_key
  console.log(`${credential}: ${masked(apiKey)}`)
  // The whole credential, with its metadata; the value prints as [REDACTED].
  const obtained = await pam.obtainCredential(credential)
  console.log(obtained)
  return apiKey
}

await runExample(import.meta.url, (pam) => run(pam).then(() => {}))
