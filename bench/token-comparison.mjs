// @ts-check
/**
 * strongroom's token endpoint against its peer, oidc-provider (issue 15): the `oidcProvider`
 * section of `npm run bench`'s JSON and `tokenVsOidcProvider`, from three figures measured in this
 * order: strongroom's `token-client-secret-post`, oidc-provider's, strongroom's again on a fresh
 * server. The ratio takes the mean of strongroom's two, so a machine that changed under the three
 * shows as their spread (a warning above 20%, as for the ceiling).
 */

/** @param {number} n @param {number} digits */
const round = (n, digits) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null)

/**
 * CPU (µs of one core) the server spent per successful request, from a figure's server CPU and rate.
 * @param {Record<string, any>} figure
 */
export const cpuMicrosPerRequest = (figure) =>
  typeof figure.cpuPercent?.server === 'number' && typeof figure.rps === 'number' && figure.rps > 0
    ? round((figure.cpuPercent.server * 1e4) / figure.rps, 0)
    : null

/** What each does per token, as read in their code (strongroom's token endpoint; oidc-provider 9). */
const PER_TOKEN = {
  strongroom:
    'reads the application and looks its secret up by keyed hash (constant-time compare), checks ' +
    'its failure throttle (in memory on SQLite), checks the scope, signs an EdDSA JWT (node:crypto), ' +
    "records the token's jti against its client secret (revoking the secret revokes it) and appends " +
    'a hash-chained audit event: one group commit, durable before the answer',
  oidcProvider:
    'finds the static client in memory, compares the secret in constant time, resolves the resource ' +
    'server, signs an EdDSA JWT (jose, WebCrypto) and writes nothing',
}

const HOW =
  "strongroom's token-client-secret-post figure, then oidc-provider, then strongroom's again on a " +
  'fresh server, each in its own process with the same request (form body: ' +
  'grant_type=client_credentials, client_id, client_secret, scope), the same load generator and ' +
  "connections; the ratio uses the mean of strongroom's two runs. oidc-provider: client_credentials, " +
  'client_secret_post (a static client), its resource server by default (resource indicators), JWT ' +
  'access tokens signed EdDSA (at+jwt, one hour), tokens not stored (the default in-memory adapter ' +
  'is never called on this path), NODE_ENV=production, no logging.'

/**
 * @param {{
 *   before: Record<string, any> | undefined,
 *   peer: Record<string, any>,
 *   after: Record<string, any> | null,
 *   ceilingRps: number,
 * }} figures `peer` and `after` get their `ratioToCeiling` here (`before` is a `results` entry: run.mjs sets it)
 * @returns {{ section: Record<string, any>, tokenVsOidcProvider: number | null, warnings: string[], errors: boolean }}
 */
export function compareTokenEndpoints({ before, peer, after, ceilingRps }) {
  /** @type {string[]} */
  const warnings = []
  let errors = false
  for (const [name, r] of /** @type {const} */ ([
    ['oidc-provider', peer],
    ['token-client-secret-post [again, after oidc-provider]', after],
  ])) {
    if (r?.failed) {
      errors = true
      warnings.push(`${name}: FAILED: ${r.failed}`)
    } else if (r && r.errors > 0) {
      errors = true
      warnings.push(`${name}: ${r.errors} ERRORS (${JSON.stringify(r.statuses)}), first: ${r.firstError}`)
    }
  }
  for (const r of [peer, after]) {
    if (r && typeof r.rps === 'number') r.ratioToCeiling = round(r.rps / ceilingRps, 3)
  }

  /** @type {[string, Record<string, any> | null | undefined][]} */
  const both = [
    ['before oidc-provider', before],
    ['after oidc-provider', after],
  ]
  /** @type {Record<string, any>[]} */
  const runs = both.flatMap(([when, r]) => (r && typeof r.rps === 'number' ? [{ when, ...r }] : []))
  const meanOf = (/** @type {string} */ key) =>
    runs.length > 0 ? round(runs.reduce((n, r) => n + r[key], 0) / runs.length, 2) : null
  const strongroomRps = runs.length > 0 ? round(runs.reduce((n, r) => n + r.rps, 0) / runs.length, 0) : null
  const tokenVsOidcProvider =
    strongroomRps !== null && typeof peer.rps === 'number' && peer.rps > 0
      ? round(strongroomRps / peer.rps, 3)
      : null
  if (runs.length === 2 && strongroomRps) {
    const spread = Math.abs(runs[0].rps - runs[1].rps) / strongroomRps
    if (spread > 0.2) {
      warnings.push(
        `strongroom's token figure moved ${Math.round(spread * 100)}% between its runs before and after ` +
          'oidc-provider: other work on the machine changed, tokenVsOidcProvider is approximate',
      )
    }
  }

  const { id: _id, name, failed, answer, ...peerFigure } = peer
  return {
    tokenVsOidcProvider,
    warnings,
    errors,
    section: {
      name,
      how: HOW,
      ...(failed ? { failed } : {}),
      oidcProvider: { ...peerFigure, answer, cpuMicrosPerRequest: cpuMicrosPerRequest(peer) },
      strongroom: {
        rps: strongroomRps,
        p50Ms: meanOf('p50Ms'),
        p99Ms: meanOf('p99Ms'),
        answer: runs[0]?.answer,
        runs: runs.map((r) => ({
          when: r.when,
          rps: r.rps,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          maxMs: r.maxMs,
          errors: r.errors,
          cpuPercent: r.cpuPercent,
          cpuMicrosPerRequest: cpuMicrosPerRequest(r),
        })),
      },
      tokenVsOidcProvider,
      perToken: PER_TOKEN,
    },
  }
}
