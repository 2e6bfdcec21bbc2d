// Issue 16, stage 1: a change made through one node is refused or visible on every other node on
// the very next request, whatever those nodes hold in memory: verified tokens, signing keys, data
// keys, upstream OAuth tokens, STS credentials. Each scenario first uses the resource on nodes B and
// C (filling their caches), then changes it through node A, then asks B and C once. The clock is
// frozen: no cache can be rescued by expiring. The second run kills B's and C's database
// connections (pg_terminate_backend) just before each change. The third runs the nodes on one
// SQLite file, as the workers of `serve --workers N` share it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestServer } from '../support/engines.js'
import { AWS_ROLE, createCloudAccounts, grantRole, obtainPath } from './cloud-fixtures.js'
import {
  type Answer,
  admin,
  type Cluster,
  createWorkload,
  kidOf,
  openCluster,
  pam,
  requestToken,
  send,
  startUpstream,
  tokenFrom,
  type Upstream,
  type Workload,
} from './nodes-support.js'

const OBTAIN = (identifier: string) => `/credentials/_/actions/obtain?credentialIdentifier=${identifier}`
const FETCH_OAUTH = '/authenticationTokens/_/actions/fetchOAuthAccessToken'
const GENERATE_JWT = '/authenticationTokens/_/actions/generateJwt'
const OBTAIN_PASSWORD = '/accounts/_/actions/obtainPassword'

interface Scenario {
  name: string
  /** Makes the resource used on `node` (and its caches warm); must succeed. */
  use(node: TestServer): Promise<Answer>
  /** The change, through node A. */
  change(a: TestServer): Promise<void>
  /** What B and C must answer on their very next request. */
  expect(answer: Answer): void
}

const refusedWith = (status: number, code: string) => (answer: Answer) => {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status)
  expect(answer.body.Code).toBe(code)
}

describe.each([
  ['on PostgreSQL, with their connections intact', 'postgres', false],
  ['on PostgreSQL, after their database connections were killed', 'postgres', true],
  ['as workers of one SQLite file', 'sqlite', false],
] as const)(
  'a change through node A is seen by nodes B and C on their next request, %s',
  (_label, engine, kill) => {
    let c: Cluster
    let a: TestServer
    let others: TestServer[]
    let upstream: Upstream
    let w: Workload
    const scenarios: Scenario[] = []

    beforeAll(async () => {
      c = await openCluster(['node_a', 'node_b', 'node_c'], { engine })
      ;[a, ...others] = c.nodes as [TestServer, ...TestServer[]]
      upstream = await startUpstream()
      w = await createWorkload(c, a, 'workload')
      const grant = async (resourceType: string, resource: string, actions: string[]) => {
        const res = await admin(c, a, 'POST', '/grants', {
          applicationId: w.applicationId,
          resourceType,
          resource,
          actions,
        })
        expect(res.status, JSON.stringify(res.body)).toBe(201)
        return res.body.grantId as string
      }
      const made = async (path: string, body: unknown) => {
        const res = await admin(c, a, 'POST', path, body)
        expect(res.status, JSON.stringify(res.body)).toBe(201)
        return res.body
      }
      for (const id of ['k/rotated', 'k/disabled', 'k/ungranted', 'k/plain'])
        await made('/credentials', {
          credentialIdentifier: id,
          credentialType: 'api_key',
          value: { apiKey: `${id}-v1` },
        })
      // A prefix grant covers the k/ credentials; an exact one, deleted below, the other.
      await admin(c, a, 'POST', '/grants', {
        applicationId: w.applicationId,
        resourceType: 'credential',
        resource: 'k/',
        resourceMatch: 'prefix',
        actions: ['obtain'],
      }).then((r) => expect(r.status).toBe(201))
      const ungrantedGrant = await grant('credential', 'other/ungranted', ['obtain'])
      await made('/credentials', {
        credentialIdentifier: 'other/ungranted',
        credentialType: 'api_key',
        value: { apiKey: 'ungranted-v1' },
      })
      await made('/accounts', { accountName: 'db-01/admin', password: 'account-password-1' })
      await grant('account', 'db-01/admin', ['obtain'])
      await made('/credential-providers', {
        credentialProviderIdentifier: 'signer',
        credentialProviderType: 'jwt',
      })
      await grant('credential_provider', 'signer', ['use'])
      await made('/credential-providers', {
        credentialProviderIdentifier: 'upstream',
        credentialProviderType: 'oauth',
        oauth: { tokenEndpoint: upstream.url, clientId: 'strongroom', clientSecret: 'upstream-secret' },
      })
      await grant('credential_provider', 'upstream', ['use'])
      await createCloudAccounts(a)
      expect((await grantRole(a, w.applicationId, AWS_ROLE)).status).toBe(201)

      const token = await tokenFrom(c, a, w)
      const obtain = (identifier: string) => (node: TestServer) =>
        pam(c, node, token, 'GET', OBTAIN(identifier))

      scenarios.push(
        {
          name: 'credential rotation: the new value',
          use: obtain('k/rotated'),
          change: async (a) => {
            expect(
              (
                await admin(c, a, 'POST', '/credentials/k%2Frotated/versions', {
                  value: { apiKey: 'k/rotated-v2' },
                })
              ).status,
            ).toBe(201)
          },
          expect: (answer) => {
            expect(answer.status).toBe(200)
            expect(answer.body.credentialContent.apiKeyContent.apiKey).toBe('k/rotated-v2')
          },
        },
        {
          name: 'credential disable',
          use: obtain('k/disabled'),
          change: async (a) => {
            expect((await admin(c, a, 'POST', '/credentials/k%2Fdisabled/disable')).status).toBe(200)
          },
          expect: refusedWith(403, 'CredentialDisabled'),
        },
        {
          name: 'grant delete',
          use: obtain('other/ungranted'),
          change: async (a) => {
            expect((await admin(c, a, 'DELETE', `/grants/${ungrantedGrant}`)).status).toBe(204)
          },
          expect: refusedWith(403, 'PermissionDenied'),
        },
        {
          name: 'account disable',
          use: (node) => pam(c, node, token, 'POST', OBTAIN_PASSWORD, { accountName: 'db-01/admin' }),
          change: async (a) => {
            expect((await admin(c, a, 'POST', '/accounts/db-01%2Fadmin/disable')).status).toBe(200)
          },
          expect: refusedWith(403, 'AccountDisabled'),
        },
        {
          name: 'jwt provider disable',
          use: (node) =>
            pam(c, node, token, 'POST', GENERATE_JWT, {
              credentialProviderIdentifier: 'signer',
              subject: 's',
              audiences: ['https://api.example.com'],
            }),
          change: async (a) => {
            expect((await admin(c, a, 'POST', '/credential-providers/signer/disable')).status).toBe(200)
          },
          expect: refusedWith(403, 'CredentialProviderDisabled'),
        },
        {
          name: 'oauth provider disable: the upstream token a node holds is not handed out',
          use: (node) =>
            pam(c, node, token, 'POST', FETCH_OAUTH, { credentialProviderIdentifier: 'upstream' }),
          change: async (a) => {
            expect((await admin(c, a, 'POST', '/credential-providers/upstream/disable')).status).toBe(200)
          },
          expect: refusedWith(403, 'CredentialProviderDisabled'),
        },
        {
          name: 'cloud role disable: the STS credentials a node holds are not handed out',
          use: (node) => pam(c, node, token, 'GET', obtainPath(AWS_ROLE)),
          change: async (a) => {
            const role = `/cloudAccounts/prod-aws/roles/deployer/disable`
            expect((await admin(c, a, 'POST', role)).status).toBe(200)
          },
          expect: refusedWith(403, 'CloudAccountRoleDisabled'),
        },
      )
    })

    afterAll(async () => {
      await upstream?.close()
      await c?.close()
    })

    /** Uses the resource on B and C, kills their connections if asked, changes it through A. */
    async function warmThenChange(use: (node: TestServer) => Promise<Answer>, change: () => Promise<void>) {
      for (const node of others) {
        const answer = await use(node)
        expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300)
      }
      if (kill) expect(await c.kill('node_b', 'node_c')).toBeGreaterThanOrEqual(2)
      await change()
    }

    it('credentials, grants, accounts, providers and cloud roles', async () => {
      for (const s of scenarios) {
        await warmThenChange(s.use, () => s.change(a))
        for (const node of others) {
          const answer = await s.use(node)
          try {
            s.expect(answer)
          } catch (err) {
            throw new Error(`${s.name}: ${(err as Error).message}`)
          }
        }
      }
      // Nothing was answered by a node from what it held: the STS and the upstream were each called
      // once per node at most, before the change.
      expect(upstream.requests).toBeLessThanOrEqual(3)
    })

    it('token revoke, client secret revoke and application disable', async () => {
      // An access token revoked by its client through node A (RFC 7009).
      const revoked = await tokenFrom(c, a, w)
      await warmThenChange(
        (node) => pam(c, node, revoked, 'GET', OBTAIN('k/plain')),
        async () => {
          const res = await send(
            a,
            'POST',
            `/v2/${c.instanceId}/authorizationServer/iauths_system/oauth2/revoke`,
            {
              form: { token: revoked, client_id: w.clientId, client_secret: w.secret },
            },
          )
          expect(res.status).toBe(200)
        },
      )
      for (const node of others)
        refusedWith(401, 'InvalidToken')(await pam(c, node, revoked, 'GET', OBTAIN('k/plain')))

      // A client secret revoked through node A with its tokens: refused at every token endpoint, and
      // the token it obtained (through node B) is refused everywhere.
      const second = await send(
        a,
        'POST',
        `/admin/v1/instances/${c.instanceId}/applications/${w.applicationId}/client-secrets`,
        {
          headers: c.auth,
          body: {},
        },
      )
      const withSecond = { ...w, secret: second.body.clientSecret as string }
      const obtainedWithSecond = await tokenFrom(c, others[0]!, withSecond)
      await warmThenChange(
        (node) => pam(c, node, obtainedWithSecond, 'GET', OBTAIN('k/plain')),
        async () => {
          const path = `/applications/${w.applicationId}/client-secrets/${second.body.clientSecretId}/revoke`
          expect((await admin(c, a, 'POST', path, { revokeTokens: true })).body.tokensRevoked).toBe(1)
        },
      )
      for (const node of others) {
        expect((await requestToken(c, node, withSecond)).status).toBe(401)
        refusedWith(401, 'InvalidToken')(await pam(c, node, obtainedWithSecond, 'GET', OBTAIN('k/plain')))
      }

      // An application disabled through node A: its tokens and its secret are refused everywhere.
      const other = await createWorkload(c, a, 'disabled-later')
      await admin(c, a, 'POST', '/grants', {
        applicationId: other.applicationId,
        resourceType: 'credential',
        resource: 'k/plain',
        actions: ['obtain'],
      })
      const otherToken = await tokenFrom(c, a, other)
      await warmThenChange(
        (node) => pam(c, node, otherToken, 'GET', OBTAIN('k/plain')),
        async () => {
          expect((await admin(c, a, 'POST', `/applications/${other.applicationId}/disable`)).status).toBe(200)
        },
      )
      for (const node of others) {
        refusedWith(401, 'InvalidToken')(await pam(c, node, otherToken, 'GET', OBTAIN('k/plain')))
        expect((await requestToken(c, node, other)).body.error).toBe('invalid_client')
      }
    })

    it('signing-key rotation: a token signed with the new key verifies on every node, which sign with it and publish it', async () => {
      const before = await tokenFrom(c, a, w)
      const jwks = (node: TestServer) =>
        send(node, 'GET', `/v2/${c.instanceId}/authorizationServer/iauths_system/jwks`)
      let rotatedKid = ''
      await warmThenChange(
        async (node) => {
          // Every node has read the instance's keys: verified a token and served the JWKS.
          expect((await jwks(node)).status).toBe(200)
          return pam(c, node, before, 'GET', OBTAIN('k/plain'))
        },
        async () => {
          // One millisecond later than the first key, so the new one is the later active key; far
          // less than any node would wait before reading its keys again by itself.
          c.clock.now += 1
          const rotated = await admin(c, a, 'POST', '/signing-keys/rotate', { activateAfterSeconds: 0 })
          expect(rotated.status, JSON.stringify(rotated.body)).toBe(201)
          rotatedKid = rotated.body.kid
        },
      )
      const after = await tokenFrom(c, a, w)
      expect(kidOf(after)).toBe(rotatedKid)
      for (const node of others) {
        const answer = await pam(c, node, after, 'GET', OBTAIN('k/plain'))
        expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      }
      for (const node of others) {
        expect((await jwks(node)).body.keys.map((k: { kid: string }) => k.kid)).toContain(rotatedKid)
        expect(kidOf(await tokenFrom(c, node, w))).toBe(rotatedKid)
      }
      // Tokens signed with the superseded key still verify everywhere.
      for (const node of c.nodes)
        expect((await pam(c, node, before, 'GET', OBTAIN('k/plain'))).status).toBe(200)
    })
  },
)
