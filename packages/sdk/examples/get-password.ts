// strongroom's privileged accounts: the ones this application may see, then one's password. Needs
// an account, an `obtain` grant on it, and the scope `urn:cloud:idaas:pam|account:obtain account:read`:
//   npx strongroom account create DB-SERVER/admin --password   # reads it from stdin or a prompt
//   npx strongroom grant create --app APP --type account --resource DB-SERVER/ --prefix --actions obtain,read
//   node packages/sdk/examples/dist/get-password.js DB-SERVER/admin [reason]
import { type PamClient, ReasonRequiredError } from '@strongroom/sdk'
import { masked, runExample } from './run-example.js'

export async function run(
  pam: PamClient,
  accountName = process.argv[2] ?? 'DB-SERVER/admin',
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
