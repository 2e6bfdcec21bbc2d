// Cloud credentials end to end: cloud accounts and roles made with the CLI against the real server,
// whose STS calls go to the stand-in STS servers (they verify every signature as the vendors do);
// a workload obtains credentials with the SDK, with `strongroom get cloud-credentials`, and with a
// plain HTTP call shaped as the official clients send it, and the vended credentials then work with
// the vendors' own SDKs. The long-lived keys and everything STS vended stay out of the database
// file, its WAL, the server's log and the audit export.
import { readdirSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as alicloud from '@alicloud/credentials'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PamClient } from '../../packages/sdk/src/client/pam-client.js'
import { fromClientSecret } from '../../packages/sdk/src/credentials/from-client-secret.js'
import { tokenEndpointCall } from '../../packages/sdk/src/credentials/token-endpoint-call.js'
import { createHttpClient } from '../../packages/sdk/src/http/http-client.js'
import { runCli, type ServerProcess, startServer } from '../support/server-process.js'
import {
  type StsStandIn,
  startAlibabaStsStandIn,
  startAwsStsStandIn,
} from '../support/sts-stand-ins/index.js'
import { ok, okJson } from './cli.js'

const AWS_ACCOUNT = '123456789012'
const AWS_ROLE = `arn:aws:iam::${AWS_ACCOUNT}:role/e2e-deployer`
const AWS_KEY_ID = 'AKIAE2ELONGLIVED0001'
const AWS_SECRET = 'CANARY-e2e-aws-long-lived-secret'
const ALIBABA_UID = '1234567890123456'
const ALIBABA_ROLE = `acs:ram::${ALIBABA_UID}:role/e2e-reader`
const ALIBABA_KEY_ID = 'LTAIE2ELONGLIVED0001'
const ALIBABA_SECRET = 'CANARY-e2e-alibaba-long-lived-secret'
const UNTRUSTED_ROLE = `arn:aws:iam::${AWS_ACCOUNT}:role/not-assumable`
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

const { Config } = alicloud
type CredentialClass = typeof alicloud.default.default
// The package is CommonJS with `exports.default = Credential`.
const Credential: CredentialClass =
  (alicloud.default as { default?: CredentialClass }).default ??
  (alicloud.default as unknown as CredentialClass)

interface ClientConfig {
  clientId: string
  idaasInstanceId: string
  tokenEndpoint: string
  developerApiEndpoint: string
}

describe('cloud credentials, end to end against the real server and stand-in STS servers', () => {
  let server: ServerProcess
  let awsSts: StsStandIn
  let alibabaSts: StsStandIn
  let config: ClientConfig
  let workloadEnv: Record<string, string | undefined>
  let clientSecret: string

  const asWorkload = async (args: string[]) => {
    const r = await runCli(args, { env: workloadEnv, cwd: server.dataDir })
    if (r.code !== 0) throw new Error(`strongroom ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`)
    expect(r.stderr).not.toMatch(/CANARY|STS\.|FQoG|Token/)
    return r.stdout
  }

  const pamClient = (): PamClient => {
    const http = createHttpClient({})
    return new PamClient({
      credentials: fromClientSecret({
        clientId: config.clientId,
        tokenEndpoint: config.tokenEndpoint,
        clientSecret,
        call: tokenEndpointCall(http, config.tokenEndpoint),
        scope: 'urn:cloud:idaas:pam|.all',
      }),
      instanceId: config.idaasInstanceId,
      endpoint: config.developerApiEndpoint,
      http,
    })
  }

  beforeAll(async () => {
    awsSts = await startAwsStsStandIn({
      region: 'eu-west-1',
      keys: { [AWS_KEY_ID]: AWS_SECRET },
      roles: [
        {
          arn: AWS_ROLE,
          trustedKeyIds: [AWS_KEY_ID],
          maxSessionDurationSeconds: 7200,
          externalId: 'e2e-external-id',
        },
      ],
    })
    alibabaSts = await startAlibabaStsStandIn({
      keys: { [ALIBABA_KEY_ID]: ALIBABA_SECRET },
      roles: [{ arn: ALIBABA_ROLE, trustedKeyIds: [ALIBABA_KEY_ID] }],
    })
    server = await startServer()
    const configPath = join(server.dataDir, 'client-config.json')
    config = JSON.parse(await readFile(configPath, 'utf8')) as ClientConfig
    clientSecret = (await readFile(join(server.dataDir, 'client-secret'), 'utf8')).trim()
    workloadEnv = {
      CLOUD_IDAAS_CONFIG_PATH: configPath,
      IDAAS_CLIENT_SECRET: clientSecret,
      STRONGROOM_ADMIN_TOKEN: undefined,
      HOME: server.dataDir,
    }

    // The administrator's side, with the CLI: both accounts, a role each, grants for the demo app.
    await ok(
      server,
      [
        'cloud-account',
        'create',
        '--name',
        'e2e-aws',
        '--vendor',
        'aws',
        '--account-id',
        AWS_ACCOUNT,
        '--access-key-id',
        AWS_KEY_ID,
        '--sts-endpoint',
        awsSts.url,
        '--region',
        'eu-west-1',
      ],
      AWS_SECRET,
    )
    await ok(
      server,
      [
        'cloud-account',
        'create',
        '--name',
        'e2e-alibaba',
        '--vendor',
        'alibaba_cloud',
        '--account-id',
        ALIBABA_UID,
        '--access-key-id',
        ALIBABA_KEY_ID,
        '--sts-endpoint',
        alibabaSts.url,
      ],
      `${ALIBABA_SECRET}\n`,
    )
    await ok(server, [
      'cloud-account',
      'role',
      'add',
      'e2e-aws',
      '--arn',
      AWS_ROLE,
      '--max-duration',
      '7200',
      '--external-id',
      'e2e-external-id',
    ])
    await ok(server, ['cloud-account', 'role', 'add', 'e2e-alibaba', '--arn', ALIBABA_ROLE])
    await ok(server, ['cloud-account', 'role', 'add', 'e2e-aws', '--arn', UNTRUSTED_ROLE])
    const apps = await okJson<{ applicationId: string; clientId: string }[]>(server, ['app', 'list'])
    const demo = apps.find((a) => a.clientId === config.clientId)!
    for (const role of [AWS_ROLE, ALIBABA_ROLE, UNTRUSTED_ROLE])
      await ok(server, [
        'grant',
        'create',
        '--app',
        demo.applicationId,
        '--type',
        'cloud_account_role',
        '--resource',
        role,
        '--actions',
        'obtain',
      ])
  })
  afterAll(async () => {
    await server?.stop()
    await awsSts?.close()
    await alibabaSts?.close()
  })

  it('hands an AWS credential_process what it expects, from STS credentials the stand-in issued to the workload', async () => {
    const printed = JSON.parse(
      await asWorkload(['get', 'cloud-credentials', AWS_ROLE, '--format', 'aws-process']),
    ) as Record<string, unknown>
    const issued = awsSts.issued.at(-1)!
    expect(printed).toEqual({
      Version: 1,
      AccessKeyId: issued.accessKeyId,
      SecretAccessKey: issued.accessKeySecret,
      SessionToken: issued.securityToken,
      Expiration: expect.stringMatching(ISO_SECONDS),
    })
    // The session name names the workload in the cloud's own trail; the role's default duration applies.
    expect(awsSts.requests.at(-1)).toMatchObject({
      action: 'AssumeRole',
      accessKeyId: AWS_KEY_ID,
      roleArn: AWS_ROLE,
      sessionName: config.clientId,
      durationSeconds: 3600,
      status: 200,
    })
  })

  it('prints Alibaba Cloud credentials as the environment the vendor libraries read', async () => {
    const lines = (await asWorkload(['get', 'cloud-credentials', ALIBABA_ROLE, '--format', 'env']))
      .trim()
      .split('\n')
    const issued = alibabaSts.issued.at(-1)!
    const unquote = (v: string) => v.replace(/^'(.*)'$/, '$1')
    const env = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf('=')), unquote(l.slice(l.indexOf('=') + 1))]),
    )
    expect(env).toMatchObject({
      ALIBABA_CLOUD_ACCESS_KEY_ID: issued.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: issued.accessKeySecret,
      ALIBABA_CLOUD_SECURITY_TOKEN: issued.securityToken,
    })
    expect(alibabaSts.requests.at(-1)).toMatchObject({ sessionName: config.clientId, status: 200 })
  })

  it('answers a plain HTTP call shaped as the official clients send it, with their default scope', async () => {
    const tokenResponse = await fetch(config.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: config.clientId,
        client_secret: clientSecret,
        // The IDaaS core SDKs' default scope, without `_role`.
        scope: 'urn:cloud:idaas:pam|cloud_account:obtain_access_credential',
      }),
    })
    expect(tokenResponse.status).toBe(200)
    const { access_token: accessToken } = (await tokenResponse.json()) as { access_token: string }
    const calls = awsSts.calls
    const url = `${config.developerApiEndpoint}/v2/${config.idaasInstanceId}/cloudAccountRoles/_/actions/obtainAccessCredential?cloudAccountRoleExternalId=${encodeURIComponent(AWS_ROLE)}&durationSeconds=900`
    const response = await fetch(url, {
      headers: {
        // One official client sends two spaces after the scheme.
        authorization: `Bearer  ${accessToken}`,
        accept: 'application/json',
        'x-acs-version': '2022-02-25',
        'x-acs-action': 'ObtainCloudAccountRoleAccessCredential',
        'x-acs-signature-nonce': crypto.randomUUID(),
        'user-agent': 'AlibabaCloud (linux; x64) Node.js/v20 Core/1.0 TeaDSL/2',
      },
    })
    expect(response.status).toBe(200)
    // biome-ignore lint/suspicious/noExplicitAny: the answer is checked field by field below
    const body = (await response.json()) as Record<string, any>
    expect(body).toMatchObject({
      cloudAccountRoleExternalId: AWS_ROLE,
      cloudAccountRoleName: 'e2e-deployer',
      cloudAccountVendorType: 'aws',
      cloudAccountId: expect.stringMatching(/^ca_/),
      cloudAccountRoleId: expect.stringMatching(/^car_/),
    })
    const credential = body.cloudAccountRoleAccessCredential
    expect(credential.awsStsToken.expiration).toMatch(ISO_SECONDS)
    expect(typeof credential.accessCredentialExpiresAt).toBe('number')
    expect(Date.parse(credential.awsStsToken.expiration) / 1000).toBe(credential.accessCredentialExpiresAt)
    // A new duration is a new STS session.
    expect(awsSts.calls).toBe(calls + 1)
    expect(awsSts.requests.at(-1)).toMatchObject({ durationSeconds: 900, status: 200 })
    expect(credential.awsStsToken.accessKeyId).toBe(awsSts.issued.at(-1)!.accessKeyId)
  })

  it("signs AWS requests with the SDK's credential provider, verified by the stand-in with the vended secret", async () => {
    await using pam = pamClient()
    const sts = new STSClient({
      endpoint: awsSts.url,
      region: 'eu-west-1',
      maxAttempts: 1,
      credentials: pam.awsCredentialProvider(AWS_ROLE),
    })
    const identity = await sts.send(new GetCallerIdentityCommand({}))
    expect(identity.Arn).toContain(config.clientId)
    const call = awsSts.requests.at(-1)!
    expect(call).toMatchObject({ action: 'GetCallerIdentity', status: 200 })
    expect(awsSts.issued.map((c) => c.accessKeyId)).toContain(call.accessKeyId)
    sts.destroy()
  })

  it('gives an Alibaba Cloud credential that @alicloud/credentials accepts as an STS credential', async () => {
    await using pam = pamClient()
    const ours = pam.alibabaCloudCredential(ALIBABA_ROLE)
    const model = await ours.getCredential()
    const issued = alibabaSts.issued.map((c) => c.accessKeyId)
    expect(issued).toContain(model.accessKeyId)
    const official = new Credential(new Config(model))
    expect(official.getType()).toBe('sts')
    const theirs = await official.getCredential()
    expect(theirs).toMatchObject({
      accessKeyId: model.accessKeyId,
      accessKeySecret: model.accessKeySecret,
      securityToken: model.securityToken,
      type: 'sts',
    })
    const viaProvider = new Credential(null, ours)
    expect(await viaProvider.getAccessKeyId()).toBe(model.accessKeyId)
  })

  it('answers a role STS will not let the key assume with 502 StsRefused and the vendor code, audited', async () => {
    const r = await runCli(['get', 'cloud-credentials', UNTRUSTED_ROLE], {
      env: workloadEnv,
      cwd: server.dataDir,
    })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/StsRefused/)
    expect(r.stderr).toMatch(/AccessDenied/)
    expect(r.stderr).not.toContain(AWS_SECRET)
    const events = await okJson<{ action: string; outcome: string; details: Record<string, unknown> }[]>(
      server,
      ['audit', 'query', '--action', 'cloud_account_role.obtain_access_credential', '--outcome', 'failure'],
    )
    expect(events.at(-1)!.details).toMatchObject({ why: 'sts', code: 'StsRefused' })
  })

  it('keeps the long-lived keys and every vended secret out of the database file, its WAL, the log and the audit export', async () => {
    const exported = await ok(server, ['audit', 'export'])
    expect(exported).toContain('cloud_account_role.obtain_access_credential')
    const secrets = [
      AWS_SECRET,
      ALIBABA_SECRET,
      ...awsSts.issued.flatMap((c) => [c.accessKeySecret, c.securityToken]),
      ...alibabaSts.issued.flatMap((c) => [c.accessKeySecret, c.securityToken]),
    ]
    expect(secrets.length).toBeGreaterThanOrEqual(6)
    const files = readdirSync(server.dataDir).filter((n) => n.startsWith('strongroom.db'))
    expect(files).toContain('strongroom.db-wal')
    const places: [string, Buffer][] = [
      ['the audit export', Buffer.from(exported)],
      ['the server log', Buffer.from(server.logs())],
      ...files.map((n): [string, Buffer] => [n, readFileSync(join(server.dataDir, n))]),
    ]
    for (const [where, bytes] of places)
      for (const secret of secrets)
        expect(bytes.includes(Buffer.from(secret)), `a secret in ${where}`).toBe(false)
  })
})
