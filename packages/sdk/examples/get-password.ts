// strongroom's privileged accounts: the ones this application may see, then one's password. The demo
// application of `npm start` may read the demo account `demo-db/admin`, which wants a reason:
//   node packages/sdk/examples/dist/get-password.js demo-db/admin "trying strongroom"
// For another account: create it, grant it, and allow the scope
// `urn:cloud:idaas:pam|account:obtain account:read`:
//   npx strongroom account create db-server/admin --password   # reads it from stdin or a prompt
//   npx strongroom grant create --app APP --type account --resource db-server/ --prefix --actions obtain,read
//   node packages/sdk/examples/dist/get-password.js db-server/admin "INC-4711"
import { type PamClient, ReasonRequiredError } from '@strongroom/sdk'
import { masked, runExample } from './run-example.js'

export async function run(
  pam: PamClient,
  accountName = process.argv[2] ?? 'demo-db/admin',
  reason = process.argv[3],
): Promise<string> {
  // Listed once, then served from memory for five minutes (`accountsCache.ttlSeconds`).
  const accounts = await pam.getAccounts()
  console.log(
    `accounts: ${accounts.map((a) => `${a.name}${a.requiresReason ? ' (reason)' : ''}`).join(', ')}`,
  )
  try {
    const password = await pam.getPassword(accountName, { reason })
    console.log(`${accountName}: ${masked(password)}`)
    // With the account and version it came from; the password prints as [REDACTED].
    console.log(await pam.obtainPassword(accountName, { reason }))
    return password
  } catch (err) {
    if (err instanceof ReasonRequiredError)
      console.error(`${accountName} wants a reason: pass one after the name`)
    throw err
  }
}

await runExample(import.meta.url, (pam) => run(pam).then(() => {}))
