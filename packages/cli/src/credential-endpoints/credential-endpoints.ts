import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CloudCredentials, CloudVendor } from '@strongroom/sdk'
import { CliError, UsageError } from '../errors.js'
import { formatError } from '../format-error.js'
import { RETIRE_GRACE_MS, SecretSet } from '../run/masking-stream.js'
import { isLoopbackAddress, type LoopbackAddress, originOf, parseLoopbackListen } from './listen-address.js'
import { type CloudCredentialSource, RoleFeed, type RoleFeedState } from './role-feed.js'
import {
  ALIBABA_CLI_PROFILE_DISABLED,
  ALIBABA_CREDENTIALS_URI,
  ALIBABA_ECS_METADATA_DISABLED,
  AWS_AUTHORIZATION_TOKEN,
  AWS_FULL_URI,
  alibabaCredentialsBody,
  awsCredentialsBody,
  SHADOWING_VARIABLES,
  VENDOR_NAMES,
  vendorOfRoleArn,
} from './vendors.js'

/** A cloud role to serve, by ARN; `durationSeconds` (900–43200) defaults to the role's own. */
export interface CredentialEndpointRole {
  readonly arn: string
  readonly durationSeconds?: number | undefined
}

export interface CredentialEndpointsOptions {
  /** Where credentials come from: the workload's `PamClient` (its cache refreshes ahead of expiry). */
  readonly pam: CloudCredentialSource
  /** At most one role per vendor: the consumers' variables name one endpoint each. */
  readonly roles: readonly CredentialEndpointRole[]
  /** `HOST:PORT` on loopback (default `127.0.0.1:0`, any free port); anything else is refused. */
  readonly listen?: string | undefined
  /** One line per failure (`ROLE: cannot obtain credentials: Code: …`); never a secret. */
  readonly log?: ((line: string) => void) | undefined
  /** Also log one line per request: the route (`alibaba-cloud`, `aws`, `-`) and the status, never the path. */
  readonly logRequests?: boolean | undefined
  /**
   * Called with every secret value: the capabilities at start (`until` undefined: for as long as
   * the endpoints live), each credential's secrets as they arrive, with `until` their expiry and
   * `RETIRE_GRACE_MS` (epoch ms): after that they need not be concealed any more.
   */
  readonly onSecret?: ((value: string, until?: number) => void) | undefined
  /** Obtain every role's credentials before listening, so a missing grant fails here (default true). */
  readonly prefetch?: boolean | undefined
  /** How often held credentials are checked for a refresh ahead of expiry (default 5 s; 0: never). */
  readonly checkEveryMs?: number | undefined
  /** With credentials held, how long a request waits for the source before they are served (default 500 ms). */
  readonly answerWithinMs?: number | undefined
  /** Epoch ms (tests). */
  readonly now?: (() => number) | undefined
}

/** What a request met, counted (tests, `--verbose`). */
export interface CredentialEndpointStats {
  requests: number
  /** 200s, by vendor. */
  served: Record<CloudVendor, number>
  /** 401: no capability, a wrong one, an unknown path or a foreign Host header. */
  refused: number
  /** 405: not a GET. */
  wrongMethod: number
  /** 503: no credentials to serve. */
  unavailable: number
}

export interface CredentialEndpoints extends AsyncDisposable {
  /** The origin it listens on, `http://127.0.0.1:PORT`: not a secret, the paths and token are. */
  readonly url: string
  readonly address: LoopbackAddress
  /**
   * What a consumer's environment needs, by the roles' vendors: `ALIBABA_CLOUD_CREDENTIALS_URI`,
   * `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`, `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`;
   * `AWS_CONTAINER_CREDENTIALS_FULL_URI`, `AWS_CONTAINER_AUTHORIZATION_TOKEN`. The URI and the token
   * are secrets: whoever reads them gets the role's credentials.
   */
  readonly env: Readonly<Record<string, string>>
  /** Variables a consumer must not inherit: they take precedence over `env` in the vendors' chains. */
  readonly unset: readonly string[]
  /** The secret values of `env` (the capability URI, the token), for redaction. */
  readonly secrets: readonly string[]
  stats(): CredentialEndpointStats
  roles(): RoleFeedState[]
  /** Stops listening, drops open connections and the refresh timer. Idempotent. */
  close(): Promise<void>
}

const ALIBABA_PREFIX = '/alibaba-cloud/'
const AWS_PATH = '/aws/credentials'
const REFUSED_BODY = JSON.stringify({ Code: 'Unauthorized', Message: 'Unauthorized' })

/**
 * The roles by vendor, checked before anything starts: each ARN names its vendor, and there is at
 * most one role per vendor (a consumer's variables name one endpoint per vendor). Usage errors.
 */
export function rolesByVendor(
  roles: readonly CredentialEndpointRole[],
): Map<CloudVendor, CredentialEndpointRole> {
  if (roles.length === 0) throw new UsageError('no cloud role to serve')
  const byVendor = new Map<CloudVendor, CredentialEndpointRole>()
  for (const role of roles) {
    const vendor = vendorOfRoleArn(role.arn)
    const other = byVendor.get(vendor)
    if (other !== undefined)
      throw new UsageError(
        `two ${VENDOR_NAMES[vendor]} roles (${other.arn} and ${role.arn}): the ${VENDOR_NAMES[vendor]} SDKs read one credentials endpoint, so serve one role per vendor (start another agent for the other)`,
      )
    byVendor.set(vendor, role)
  }
  return byVendor
}

/**
 * Starts the loopback endpoints the cloud SDKs' default credential chains read, serving the
 * roles' STS credentials from `pam` (see vendors.ts for the formats and where they were checked):
 *
 * - Alibaba Cloud: `GET {url}/alibaba-cloud/<capability>`. Its consumers send no header, so the
 *   capability is the path: 256 random bits, base64url.
 * - AWS: `GET {url}/aws/credentials` with `Authorization: <token>`, 256 random bits, base64url.
 *
 * Anything without the capability — a wrong path or token, none, an unknown path, a Host header that
 * is not a loopback name (DNS rebinding) — is 401 with one fixed body that names nothing; a method
 * other than GET is 405 whatever the path. Capabilities are compared in constant time (SHA-256 of
 * both, `timingSafeEqual`). When no credentials can be served, 503 with a JSON error. Bound to
 * loopback only: `listen` must name a loopback address, and the bound socket is checked again.
 *
 * @example
 * await using endpoints = await startCredentialEndpoints({ pam, roles: [{ arn }], log: console.error })
 * spawn(cmd, args, { env: { ...process.env, ...endpoints.env } })
 */
export async function startCredentialEndpoints(
  options: CredentialEndpointsOptions,
): Promise<CredentialEndpoints> {
  const listen = parseLoopbackListen(options.listen ?? '127.0.0.1:0')
  const log = options.log ?? (() => {})
  const now = options.now ?? Date.now
  // What error lines are redacted of: the capabilities, and the credentials until an hour after they
  // expire (then dropped, so the set does not grow with every refresh).
  const secrets = new SecretSet({ now })
  const remember = (value: string, expiresAt?: number) => {
    if (value === '') return
    const until = expiresAt === undefined ? undefined : expiresAt + RETIRE_GRACE_MS
    secrets.add(value, { until })
    options.onSecret?.(value, until)
  }
  const byVendor = new Map<CloudVendor, RoleFeed>()
  for (const [vendor, role] of rolesByVendor(options.roles)) {
    byVendor.set(
      vendor,
      new RoleFeed({
        source: options.pam,
        arn: role.arn,
        vendor,
        durationSeconds: role.durationSeconds,
        now,
        log,
        onSecret: remember,
        secrets: () => secrets.values(),
        answerWithinMs: options.answerWithinMs ?? 500,
      }),
    )
  }

  const alibabaCapability = randomBytes(32).toString('base64url')
  const awsToken = randomBytes(32).toString('base64url')
  remember(alibabaCapability)
  remember(awsToken)

  if (options.prefetch !== false) await Promise.all([...byVendor.values()].map((feed) => feed.current()))

  const stats: CredentialEndpointStats = {
    requests: 0,
    served: { alibaba_cloud: 0, aws: 0 },
    refused: 0,
    wrongMethod: 0,
    unavailable: 0,
  }
  const alibabaDigest = digest(`${ALIBABA_PREFIX}${alibabaCapability}`)
  const awsDigest = digest(awsToken)

  /** Which role the request holds the capability of, if any. Both checks always run. */
  const routeOf = (request: IncomingMessage): CloudVendor | undefined => {
    const path = (request.url ?? '').split('?')[0]!
    const authorization = request.headers.authorization ?? ''
    const alibaba = byVendor.has('alibaba_cloud') && sameDigest(digest(path), alibabaDigest)
    const aws = byVendor.has('aws') && path === AWS_PATH && sameDigest(digest(authorization), awsDigest)
    if (!hostIsLoopback(request.headers.host)) return undefined
    return alibaba ? 'alibaba_cloud' : aws ? 'aws' : undefined
  }

  const answer = (
    response: ServerResponse,
    status: number,
    body: string,
    route: string,
    headers: Record<string, string> = {},
  ) => {
    response.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
      ...headers,
    })
    response.end(body)
    if (options.logRequests === true) log(`${route} ${status}`)
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    stats.requests += 1
    // The body is never read: drop it rather than let it sit in the socket.
    request.resume()
    if (request.method !== 'GET') {
      stats.wrongMethod += 1
      return answer(
        response,
        405,
        JSON.stringify({ Code: 'MethodNotAllowed', Message: 'Method Not Allowed' }),
        '-',
        { allow: 'GET' },
      )
    }
    const vendor = routeOf(request)
    if (vendor === undefined) {
      stats.refused += 1
      return answer(response, 401, REFUSED_BODY, '-')
    }
    const route = vendor === 'aws' ? 'aws' : 'alibaba-cloud'
    let credentials: CloudCredentials
    const feed = byVendor.get(vendor)!
    try {
      credentials = await feed.current()
    } catch (error) {
      stats.unavailable += 1
      const code = formatError(error, secrets.values())
        .replace(/^strongroom: /, '')
        .split(':')[0]
      return answer(
        response,
        503,
        JSON.stringify({
          Code: 'CredentialsUnavailable',
          Message: `strongroom cannot obtain this role's credentials now (${code}); try again later`,
        }),
        route,
        // When the feed asks the server again: a consumer that honours it waits no longer than needed.
        { 'retry-after': String(Math.max(1, Math.ceil(feed.retryAfterMs() / 1000))) },
      )
    }
    stats.served[vendor] += 1
    const body =
      credentials.vendor === 'aws' ? awsCredentialsBody(credentials) : alibabaCredentialsBody(credentials)
    answer(response, 200, body, route)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log(`credentials endpoint: ${formatError(error, secrets.values()).replace(/^strongroom: /, '')}`)
      if (!response.headersSent) response.writeHead(500)
      response.end()
    })
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  server.keepAliveTimeout = 5_000
  server.maxHeadersCount = 50

  await listenOn(server, listen)
  const bound = server.address() as AddressInfo
  if (!isLoopbackAddress(bound.address)) {
    await closeServer(server)
    throw new CliError('Usage', `the credentials endpoint is bound to ${bound.address}, not loopback`, {
      exitCode: 2,
    })
  }
  const address: LoopbackAddress = { host: bound.address, port: bound.port }
  const url = originOf(address.host, address.port)

  const env: Record<string, string> = {}
  const unset: string[] = []
  const envSecrets: string[] = []
  if (byVendor.has('alibaba_cloud')) {
    const uri = `${url}${ALIBABA_PREFIX}${alibabaCapability}`
    remember(uri)
    env[ALIBABA_CREDENTIALS_URI] = uri
    envSecrets.push(uri, alibabaCapability)
    env[ALIBABA_ECS_METADATA_DISABLED] = 'true'
    env[ALIBABA_CLI_PROFILE_DISABLED] = 'true'
    unset.push(...SHADOWING_VARIABLES.alibaba_cloud)
  }
  if (byVendor.has('aws')) {
    env[AWS_FULL_URI] = `${url}${AWS_PATH}`
    env[AWS_AUTHORIZATION_TOKEN] = awsToken
    envSecrets.push(awsToken)
    unset.push(...SHADOWING_VARIABLES.aws)
  }

  const checkEveryMs = options.checkEveryMs ?? 5_000
  const timer =
    checkEveryMs > 0
      ? setInterval(() => {
          for (const feed of byVendor.values()) void feed.tick()
        }, checkEveryMs)
      : undefined
  timer?.unref()

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      if (timer !== undefined) clearInterval(timer)
      await closeServer(server)
    })()
    return closing
  }

  return {
    url,
    address,
    env,
    unset,
    secrets: envSecrets,
    stats: () => structuredClone(stats),
    roles: () => [...byVendor.values()].map((feed) => feed.state),
    close,
    [Symbol.asyncDispose]: close,
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

function sameDigest(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(a, b)
}

/**
 * The Host header names a loopback address or `localhost` (any port): a page that rebinds its own
 * name to 127.0.0.1 sends its own name, and is refused even before the capability would be.
 */
function hostIsLoopback(host: string | undefined): boolean {
  if (host === undefined) return false
  const name = /^(\[[^\]]*\]|[^:]*)(:\d+)?$/.exec(host.trim())?.[1]
  if (name === undefined) return false
  return name.toLowerCase() === 'localhost' || isLoopbackAddress(name)
}

function listenOn(server: Server, address: LoopbackAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new CliError(
          'NetworkError',
          `cannot listen on ${originOf(address.host, address.port).slice(7)}: ${error.code ?? error.message}`,
          { cause: error },
        ),
      )
    }
    server.once('error', onError)
    server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
