// The STS stand-ins' verifiers agree with the vendors' own libraries: Alibaba's RAM-role-ARN
// credentials provider (@alicloud/credentials) and the AWS SDK (@aws-sdk/client-sts) are ACCEPTED and
// get credentials; the same request with one byte of its signature changed on the way is REFUSED.
// (That the server's own STS clients are accepted by the same stand-ins is proven in
// packages/server/test/unit/sts/.)

import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type StsStandIn,
  startAlibabaStsStandIn,
  startAwsStsStandIn,
} from '../support/sts-stand-ins/index.js'
import { selfSignedCertificate } from '../support/tls.js'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** A request as the relay received it, before any change. */
interface Relayed {
  method: string
  target: string
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/**
 * A relay between a client and a stand-in that can change the request on the way (`tamper`), and
 * otherwise forwards it byte for byte: same method, target, headers (the Host header included, so
 * what was signed for the relay's host is checked as such) and body. It keeps what it relayed.
 */
async function startRelay(
  target: string,
  tamper: (request: Relayed) => void,
  tls?: { cert: string; key: string },
): Promise<{ url: string; host: string; relayed: Relayed[]; close: () => Promise<void> }> {
  const relayed: Relayed[] = []
  const to = new URL(target)
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request: Relayed = {
        method: req.method!,
        target: req.url!,
        headers: { ...req.headers },
        body: Buffer.concat(chunks),
      }
      relayed.push({ ...request, headers: { ...request.headers } })
      tamper(request)
      const send = to.protocol === 'https:' ? httpsRequest : httpRequest
      const upstream = send(
        {
          host: to.hostname,
          port: to.port,
          method: request.method,
          path: request.target,
          headers: request.headers,
          ...(tls ? { ca: readFileSync(tls.cert) } : {}),
        },
        (answer) => {
          res.writeHead(answer.statusCode!, answer.headers)
          answer.pipe(res)
        },
      )
      upstream.on('error', (error) => res.writeHead(502).end(String(error)))
      upstream.end(request.body)
    })
  }
  const server = tls
    ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, listener)
    : createHttpServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: `${tls ? 'https' : 'http'}://${host}`,
    host,
    relayed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** `signature` with its first character changed (so at least one byte of what it encodes). */
function flipOne(signature: string): string {
  const first = signature[0]!
  const replacement = first === 'A' ? 'B' : first === '0' ? '1' : /[0-9a-f]/.test(first) ? '0' : 'A'
  return replacement + signature.slice(1)
}

describe('@alicloud/credentials (RAM role ARN) ↔ the Alibaba stand-in, over HTTPS', () => {
  const KEY_ID = 'LTAI5tOfficialClient01'
  const SECRET = 'Official+Client/Secret~0123456789'
  const ROLE = 'acs:ram::1234567890123456:role/official-client'
  const dir = mkdtempSync(join(tmpdir(), 'sr-sts-alibaba-'))
  const tls = selfSignedCertificate(dir)
  let sts: StsStandIn

  beforeAll(async () => {
    sts = await startAlibabaStsStandIn({
      keys: { [KEY_ID]: SECRET },
      roles: [{ arn: ROLE, trustedKeyIds: [KEY_ID] }],
      tls,
    })
  })
  afterAll(async () => {
    await sts?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /**
   * Runs Alibaba's credentials client in a child process (it speaks only HTTPS, and trusts our
   * throwaway CA there through NODE_EXTRA_CA_CERTS), pointed at `host` (`127.0.0.1:PORT`).
   */
  async function alibabaClient(
    host: string,
    over: Record<string, unknown> = {},
  ): Promise<{
    credential?: { accessKeyId: string; accessKeySecret: string; securityToken: string }
    error?: string
  }> {
    const script = `
      const { default: Credential, Config } = require('@alicloud/credentials')
      const config = new Config(JSON.parse(process.env.STS_CLIENT_CONFIG))
      new Credential(config).getCredential().then(
        (c) => { process.stdout.write(JSON.stringify({ credential: { accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken } })); process.exit(0) },
        (e) => { process.stdout.write(JSON.stringify({ error: String(e && e.message) })); process.exit(0) },
      )`
    const config = {
      type: 'ram_role_arn',
      accessKeyId: KEY_ID,
      accessKeySecret: SECRET,
      roleArn: ROLE,
      roleSessionName: 'official-alibaba',
      roleSessionExpiration: 3600,
      stsEndpoint: host,
      policy: JSON.stringify({
        Version: '1',
        Statement: [{ Effect: 'Allow', Action: 'oss:Get*', Resource: "acs:oss:*:*:b/a b~!'()*é" }],
      }),
      ...over,
    }
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: repoRoot,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.cert, STS_CLIENT_CONFIG: JSON.stringify(config) },
      timeout: 20_000,
    })
    return JSON.parse(stdout)
  }

  it('accepts its AssumeRole and issues the credentials it gets', async () => {
    const before = sts.issued.length
    const { credential, error } = await alibabaClient(sts.host)
    expect(error).toBeUndefined()
    const issued = sts.issued.at(-1)!
    expect(sts.issued).toHaveLength(before + 1)
    expect(credential).toEqual({
      accessKeyId: issued.accessKeyId,
      accessKeySecret: issued.accessKeySecret,
      securityToken: issued.securityToken,
    })
    expect(sts.requests.at(-1)).toMatchObject({
      method: 'POST',
      action: 'AssumeRole',
      accessKeyId: KEY_ID,
      sessionName: 'official-alibaba',
      durationSeconds: 3600,
      status: 200,
      code: undefined,
    })
  })

  it('refuses the same request with one byte of its signature changed, and a replay of the good one', async () => {
    const flip = await startRelay(
      sts.url,
      (request) => {
        request.target = request.target.replace(
          /([?&]Signature=)([^&]+)/,
          (_, name: string, value: string) => {
            return name + encodeURIComponent(flipOne(decodeURIComponent(value)))
          },
        )
      },
      tls,
    )
    const pass = await startRelay(sts.url, () => {}, tls)
    try {
      const issued = sts.issued.length
      const refused = await alibabaClient(flip.host)
      // The client compares the stand-in's "server string to sign" with its own: they are equal, so
      // it concludes the secret is wrong. The stand-in canonicalized exactly as Alibaba's SDK did.
      expect(refused.error).toBe('the access key secret is invalid')
      expect(sts.requests.at(-1)).toMatchObject({
        action: 'AssumeRole',
        status: 400,
        code: 'SignatureDoesNotMatch',
      })
      expect(sts.issued).toHaveLength(issued)

      // The untouched relay is accepted: the flipped byte, and only it, made the difference.
      const accepted = await alibabaClient(pass.host)
      expect(accepted.error).toBeUndefined()
      expect(accepted.credential?.accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId)

      // Replayed as is, the accepted request is refused: its SignatureNonce was used.
      const good = pass.relayed.at(-1)!
      const replay = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: new URL(sts.url).port,
            method: good.method,
            path: good.target,
            headers: good.headers,
            ca: readFileSync(tls.cert),
          },
          (res) => {
            let body = ''
            res.on('data', (chunk) => (body += chunk))
            res.on('end', () => resolve({ status: res.statusCode!, body }))
          },
        )
        req.on('error', reject)
        req.end(good.body)
      })
      expect(replay.status).toBe(400)
      expect(JSON.parse(replay.body)).toMatchObject({ Code: 'SignatureNonceUsed' })
    } finally {
      await flip.close()
      await pass.close()
    }
  })

  it('refuses a wrong secret and a role it does not know, as Alibaba does', async () => {
    const wrong = await alibabaClient(sts.host, { accessKeySecret: 'Not+The/Secret~0000000000' })
    expect(wrong.error).toBe('the access key secret is invalid')
    const role = await alibabaClient(sts.host, { roleArn: 'acs:ram::1234567890123456:role/nobody' })
    expect(role.error).toMatch(/^refresh session token failed: .*"Code":"EntityNotExist\.Role"/)
  })
})

describe('@aws-sdk/client-sts ↔ the AWS stand-in', () => {
  const KEY_ID = 'AKIAOFFICIALCLIENT01'
  const SECRET = 'Official/Client+Secret0123456789abcdefXYZ'
  const ROLE = 'arn:aws:iam::210987654321:role/official-client'
  let sts: StsStandIn

  beforeAll(async () => {
    sts = await startAwsStsStandIn({
      keys: { [KEY_ID]: SECRET },
      roles: [
        { arn: ROLE, trustedKeyIds: [KEY_ID], externalId: 'ext-official', maxSessionDurationSeconds: 7200 },
      ],
    })
  })
  afterAll(async () => sts?.close())

  const client = (endpoint: string, over: Partial<ConstructorParameters<typeof STSClient>[0]> = {}) =>
    new STSClient({
      endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
      ...over,
    })
  const assumeRole = new AssumeRoleCommand({
    RoleArn: ROLE,
    RoleSessionName: 'official-aws',
    DurationSeconds: 5400,
    ExternalId: 'ext-official',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:Get*', Resource: "arn:aws:s3:::b/a b~!'()*é" }],
    }),
  })

  it('accepts AssumeRole, and GetCallerIdentity signed with the temporary credentials and their token', async () => {
    const out = await client(sts.url).send(assumeRole)
    const issued = sts.issued.at(-1)!
    expect(out.Credentials).toEqual({
      AccessKeyId: issued.accessKeyId,
      SecretAccessKey: issued.accessKeySecret,
      SessionToken: issued.securityToken,
      Expiration: new Date(issued.expiration),
    })
    expect(out.AssumedRoleUser).toEqual({
      AssumedRoleId: issued.assumedRoleId,
      Arn: 'arn:aws:sts::210987654321:assumed-role/official-client/official-aws',
    })
    expect(sts.requests.at(-1)).toMatchObject({
      action: 'AssumeRole',
      accessKeyId: KEY_ID,
      durationSeconds: 5400,
      status: 200,
    })

    const temporary = {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: out.Credentials!.SessionToken!,
    }
    const identity = await client(sts.url, { credentials: temporary }).send(new GetCallerIdentityCommand({}))
    expect(identity).toMatchObject({
      Arn: out.AssumedRoleUser!.Arn,
      Account: '210987654321',
      UserId: issued.assumedRoleId,
    })
    expect(sts.requests.at(-1)).toMatchObject({
      action: 'GetCallerIdentity',
      accessKeyId: temporary.accessKeyId,
      status: 200,
    })

    // Another last character: a token that already ended in A would otherwise be sent unchanged.
    const last = temporary.sessionToken.endsWith('A') ? 'B' : 'A'
    const otherToken = { ...temporary, sessionToken: `${temporary.sessionToken.slice(0, -1)}${last}` }
    await expect(
      client(sts.url, { credentials: otherToken }).send(new GetCallerIdentityCommand({})),
    ).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    })
    const noToken = { accessKeyId: temporary.accessKeyId, secretAccessKey: temporary.secretAccessKey }
    await expect(
      client(sts.url, { credentials: noToken }).send(new GetCallerIdentityCommand({})),
    ).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    })
  })

  it('refuses the same request with one byte of its signature changed', async () => {
    const flip = await startRelay(sts.url, (request) => {
      request.headers['authorization'] = String(request.headers['authorization']).replace(
        /Signature=([0-9a-f]{64})/,
        (_, signature: string) => `Signature=${flipOne(signature)}`,
      )
    })
    const pass = await startRelay(sts.url, () => {})
    try {
      const issued = sts.issued.length
      await expect(client(flip.url).send(assumeRole)).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
        message: expect.stringMatching(/^The request signature we calculated does not match/),
        $metadata: { httpStatusCode: 403 },
      })
      expect(sts.requests.at(-1)).toMatchObject({
        action: 'AssumeRole',
        status: 403,
        code: 'SignatureDoesNotMatch',
      })
      expect(sts.issued).toHaveLength(issued)
      // The untouched relay is accepted: the flipped byte, and only it, made the difference.
      await expect(client(pass.url).send(assumeRole)).resolves.toMatchObject({
        Credentials: { AccessKeyId: expect.stringMatching(/^ASIA/) },
      })
    } finally {
      await flip.close()
      await pass.close()
    }
  })

  it('refuses a stale date, another region, a wrong secret and a missing ExternalId, as AWS does', async () => {
    await expect(client(sts.url, { systemClockOffset: -20 * 60_000 }).send(assumeRole)).rejects.toMatchObject(
      {
        name: 'SignatureDoesNotMatch',
        message: expect.stringMatching(/^Signature expired: \d{8}T\d{6}Z is now earlier than/),
      },
    )
    await expect(client(sts.url, { region: 'eu-west-1' }).send(assumeRole)).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      message: "Credential should be scoped to a valid region, not 'eu-west-1'.",
    })
    await expect(
      client(sts.url, {
        credentials: { accessKeyId: KEY_ID, secretAccessKey: 'Not/The+Secret000000000000000000000000' },
      }).send(assumeRole),
    ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' })
    await expect(
      client(sts.url).send(
        new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'official-aws', DurationSeconds: 900 }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })
  })
})
