import type { WhoAmI } from '@strongroom/protocol'
import { AdminClient } from './admin-client.js'
import { resolveAdminConnection, resolveInstanceOption } from './config.js'
import type { Io } from './io.js'
import { Output, shouldColor } from './output.js'
import { version } from './version.js'

/** The global options, on the program and accepted after any subcommand. */
export interface GlobalOptions {
  url?: string
  tokenFile?: string
  instance?: string
  json?: boolean
}

/** What one run of the CLI shares between its parts. */
export interface RunState {
  /** Values to redact from error lines: the admin token, secrets read from input. */
  readonly secrets: Set<string>
  /** Set by commands that finish their output and still fail (`audit verify` on a broken chain). */
  exitCode: number
}

/**
 * What a command needs: output, and, resolved only when asked for, the admin client and the
 * instance. Offline commands (`serve`, `admin rotate-root-key`) never ask, so they need no URL.
 */
export class Context {
  readonly io: Io
  readonly out: Output
  readonly globals: GlobalOptions
  readonly #state: RunState
  #client: AdminClient | undefined
  #instanceId: Promise<string> | undefined

  constructor(io: Io, globals: GlobalOptions, state: RunState) {
    this.io = io
    this.globals = globals
    this.#state = state
    this.out = new Output(io.stdout, io.stderr, {
      json: globals.json === true,
      color: shouldColor(io.stdout, io.env),
    })
  }

  /** The admin client, from the URL and token found as described in `config.ts`. */
  client(): AdminClient {
    if (this.#client === undefined) {
      const { url, token } = resolveAdminConnection(
        { url: this.globals.url, tokenFile: this.globals.tokenFile },
        this.io.env,
        this.io.cwd,
        (line) => this.io.stderr.write(`strongroom: ${line}\n`),
      )
      this.rememberSecret(token.value)
      this.#client = new AdminClient({
        baseUrl: url.value,
        token: token.value,
        fetch: this.io.fetch,
        userAgent: `strongroom-cli/${version} node/${process.versions.node}`,
      })
    }
    return this.#client
  }

  /** `--instance`, else `STRONGROOM_INSTANCE`, else the admin token's default instance. */
  instanceId(): Promise<string> {
    this.#instanceId ??= this.#resolveInstanceId()
    return this.#instanceId
  }

  async #resolveInstanceId(): Promise<string> {
    const given = resolveInstanceOption(this.globals.instance, this.io.env)
    if (given !== undefined) return given
    const whoami = await this.client().get<WhoAmI>('/admin/v1/whoami')
    return whoami.defaultInstanceId
  }

  /** `/admin/v1/instances/:instanceId` followed by `path`. */
  async instancePath(path: string): Promise<string> {
    return `/admin/v1/instances/${encodeURIComponent(await this.instanceId())}${path}`
  }

  /** Keeps a secret out of any error line this run prints. */
  rememberSecret(secret: string): void {
    this.#state.secrets.add(secret)
  }

  /** Makes the run end with `code` once the command returns. */
  fail(code = 1): void {
    this.#state.exitCode = Math.max(this.#state.exitCode, code)
  }
}

/** A path segment from an id or identifier: identifiers may contain `/`. */
export const segment = (value: string): string => encodeURIComponent(value)
