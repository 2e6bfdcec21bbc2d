// @ts-check
/**
 * The token endpoint's peer (issue 15): oidc-provider (a dev dependency, used only here) as its own
 * process, configured as a fair, well-configured authorization server for the same request
 * strongroom's `token-client-secret-post` figure makes. Prints `listening PORT` on stdout once
 * bound to 127.0.0.1 on an ephemeral port. The client's id and secret come from the environment
 * (`PEER_CLIENT_ID`, `PEER_CLIENT_SECRET`, with `PEER_SCOPE`), never from argv, which `ps` shows.
 *
 * - client credentials grant, `client_secret_post` (a static client: found in the provider's
 *   static map, never through the adapter; its secret compared in constant time);
 * - resource indicators: every token is for one resource server, by default (`defaultResource`,
 *   so the request carries the same form fields as strongroom's: grant_type, client_id,
 *   client_secret, scope), with `accessTokenFormat: 'jwt'`, an audience, EdDSA signatures by an
 *   Ed25519 key generated at start (`typ: at+jwt`) and the same one-hour lifetime as strongroom's
 *   default;
 * - tokens are NOT stored: in oidc-provider 9 a JWT-format token's `save()` gets no payload to
 *   persist from `formats/jwt.js` and so never calls `adapter.upsert` (it emits `issued`, not
 *   `saved`). With a counting adapter, three client-credentials tokens made zero adapter calls:
 *   the default in-memory adapter is configured but never touched on this path;
 * - nothing logged per request: no event listeners, no `DEBUG`; the orchestrator starts it with
 *   NODE_ENV=production (Koa's `app.env`; oidc-provider 9 itself reads no NODE_ENV), and the TTL
 *   is configured so no first-use notice is printed. What it prints at start (on Node 20: "Unsupported
 *   runtime. Use Node.js v22.x LTS"; the in-memory adapter's notice) is kept with its output, not shown.
 *
 * Checked on Node 20.20: the runtime warning is only a warning, the grant answers 200 with an EdDSA
 * `at+jwt`; the `cookie@2` that claims Node 22 is not in oidc-provider's tree (Koa 3 uses `cookies`).
 */
import { generateKeyPairSync } from 'node:crypto'
import http from 'node:http'
import Provider from 'oidc-provider'

/** The resource server every token is for: its `aud`. */
const RESOURCE = 'https://pam.bench.invalid/'
const LIFETIME_SECONDS = 3600

const clientId = process.env.PEER_CLIENT_ID
const clientSecret = process.env.PEER_CLIENT_SECRET
/** The scope the client asks for (strongroom's figure asks for the same), defined at the resource server. */
const scope = process.env.PEER_SCOPE
if (!clientId || !clientSecret || !scope) {
  process.stderr.write('PEER_CLIENT_ID, PEER_CLIENT_SECRET and PEER_SCOPE are required\n')
  process.exit(2)
}

const server = http.createServer()
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('unexpected address')
  const { privateKey } = generateKeyPairSync('ed25519')
  const provider = new Provider(`http://127.0.0.1:${address.port}`, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'bench-1', alg: 'EdDSA', use: 'sig' }] },
    // A client's default signing algorithm must be one the keystore can sign with.
    clientDefaults: { id_token_signed_response_alg: 'EdDSA' },
    ttl: { ClientCredentials: LIFETIME_SECONDS },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        getResourceServerInfo: async (/** @type {unknown} */ _ctx, /** @type {string} */ resource) => {
          if (resource !== RESOURCE) throw new Provider.errors.InvalidTarget()
          return {
            scope,
            audience: RESOURCE,
            accessTokenFormat: 'jwt',
            accessTokenTTL: LIFETIME_SECONDS,
            jwt: { sign: { alg: 'EdDSA' } },
          }
        },
      },
    },
  })
  server.on('request', provider.callback())
  process.stdout.write(`listening ${address.port}\n`)
})
process.on('SIGTERM', () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
})
