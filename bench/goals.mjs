// @ts-check
/**
 * The goals of issue 15, each beside the figure this run measured: the `goals` section of
 * `npm run bench`'s JSON and one line per goal on stderr. Always the rows of the issue's table;
 * with `--scale`, the goals of its "cost as data grows" too, from bench/scale.mjs's figures. A goal
 * not met is not an error (the run stays `ok`); a figure not measured (left out by `--only`, or
 * failed) has no value and says so.
 */

/**
 * @typedef {object} Goal
 * @property {string} id stable, for tools reading the JSON
 * @property {string} figure what is measured, as the table names it
 * @property {string} goal as the issue writes it
 * @property {(value: number) => boolean} meets
 * @property {string} atFiling the figure when the issue was filed (its "now" column)
 * @property {(figures: Figures) => number | null | undefined} value
 */

/**
 * @typedef {object} Figures
 * @property {(id: string) => Record<string, any> | undefined} result a strongroom scenario's entry of `results`
 * @property {number | null} tokenVsOidcProvider
 */

/**
 * @typedef {object} GoalRow
 * @property {string} id
 * @property {string} figure
 * @property {number | null} value
 * @property {string} goal
 * @property {boolean | null} meetsGoal null when the figure was not measured
 * @property {string} [atFiling] the figure when the issue was filed (the table's rows only)
 * @property {string} [notMeasured] why there is no value
 */

/** @param {string} id */
const ratioOf = (id) => (/** @type {Figures} */ f) => f.result(id)?.ratioToCeiling

/** @type {Goal[]} */
export const GOALS = [
  {
    id: 'obtain-credential',
    figure: 'ObtainCredential with durable audit ÷ raw node:http',
    goal: '≥ 0.40',
    meets: (v) => v >= 0.4,
    atFiling: '0.14',
    value: ratioOf('obtain-credential'),
  },
  {
    id: 'obtain-credential-p99',
    figure: 'ObtainCredential with durable audit, p99 latency (ms)',
    goal: '< 10 ms',
    meets: (v) => v < 10,
    atFiling: '24–30 ms',
    value: (f) => f.result('obtain-credential')?.p99Ms,
  },
  {
    id: 'token-vs-oidc-provider',
    figure:
      'token endpoint, client_secret_post ÷ oidc-provider (JWT EdDSA, client_secret_post, tokens not stored)',
    goal: '≥ 3',
    meets: (v) => v >= 3,
    atFiling: '0.98',
    value: (f) => f.tokenVsOidcProvider,
  },
  {
    id: 'token-private-key-jwt',
    figure: 'token endpoint, private_key_jwt EdDSA ÷ ceiling',
    goal: '≥ 0.10',
    meets: (v) => v >= 0.1,
    atFiling: '0.028',
    value: ratioOf('token-private-key-jwt'),
  },
  {
    id: 'obtain-credential-dpop',
    figure: 'ObtainCredential with a DPoP proof per request ÷ ceiling',
    goal: '≥ 0.15',
    meets: (v) => v >= 0.15,
    atFiling: '0.045',
    value: ratioOf('obtain-credential-dpop'),
  },
  {
    id: 'credential-create',
    figure: 'credential write (create) ÷ ceiling',
    goal: '≥ 0.20',
    meets: (v) => v >= 0.2,
    atFiling: '0.08',
    value: ratioOf('credential-create'),
  },
  {
    id: 'credential-rotate',
    figure: 'credential write (rotate) ÷ ceiling',
    goal: '≥ 0.20',
    meets: (v) => v >= 0.2,
    atFiling: '0.08',
    value: ratioOf('credential-rotate'),
  },
]

/**
 * Every goal of the table with this run's value.
 * @param {Figures} figures
 * @returns {GoalRow[]}
 */
export function goalRows(figures) {
  return GOALS.map((g) => {
    const value = g.value(figures)
    const { id, figure, goal, atFiling } = g
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      const notMeasured = 'not measured in this run (--only, or it failed)'
      return { id, figure, value: null, goal, meetsGoal: null, atFiling, notMeasured }
    }
    return { id, figure, value, goal, meetsGoal: g.meets(value), atFiling }
  })
}

/** @param {unknown} v @returns {number | null} */
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/**
 * @param {number | null} a
 * @param {number | null} b
 */
const worse = (a, b) => (a === null ? b : b === null ? a : Math.max(a, b))

/**
 * The goals of the "cost as data grows", from what bench/scale.mjs returned (`--scale`):
 * none when it did not run or failed (its section says why).
 * @param {Record<string, any> | null} scale
 * @returns {GoalRow[]}
 */
export function scaleGoalRows(scale) {
  if (!scale || scale.failed || scale.notRun) return []
  const quick = scale.quick === true ? ' (--quick: a tenth of the data)' : ''
  const list = scale.listAuthenticationTokens ?? {}
  const pageRatios = Object.values(list).flatMap((page) =>
    page && typeof page === 'object' && num(page.ratio) !== null ? [/** @type {number} */ (page.ratio)] : [],
  )
  const query = scale.auditQuery ?? {}
  /** @type {[string, string, string, number | null, (v: number) => boolean][]} */
  const rows = [
    [
      'scale-list-authentication-tokens',
      `ListAuthenticationTokens page time at 1M tokens ÷ at 10k, the worst page${quick}`,
      '≤ 1.5',
      pageRatios.length > 0 ? Math.max(...pageRatios) : null,
      (v) => v <= 1.5,
    ],
    [
      'scale-obtain-credential',
      `ObtainCredential req/s with 100k credentials and 100k grants ÷ with 10${quick}`,
      '≥ 0.9',
      num(scale.obtainCredential?.ratio),
      (v) => v >= 0.9,
    ],
    [
      'scale-audit-verify-rate',
      `audit verify offline, events/s over 1M events${quick}`,
      '≥ 200000',
      num(scale.auditVerify?.eventsPerSecond),
      (v) => v >= 200_000,
    ],
    [
      'scale-audit-verify-memory',
      `audit verify offline, peak RSS at 1M events ÷ at 100k${quick}`,
      '≤ 1.25: memory flat',
      num(scale.auditVerify?.peakRssRatio),
      (v) => v <= 1.25,
    ],
    [
      'scale-audit-query',
      `audit query by resource and by actor over 1M events, the worse p99 (ms)${quick}`,
      '< 50 ms',
      worse(num(query.byResource?.p99Ms), num(query.byActor?.p99Ms)),
      (v) => v < 50,
    ],
  ]
  return rows.map(([id, figure, goal, value, meets]) =>
    value === null
      ? {
          id,
          figure,
          value: null,
          goal,
          meetsGoal: null,
          notMeasured: 'not in what bench/scale.mjs returned',
        }
      : { id, figure, value, goal, meetsGoal: meets(value) },
  )
}

/**
 * One line for a person: `figure: value (goal …; at filing …): met | NOT MET | not measured`.
 * @param {GoalRow} row
 */
export function goalLine(row) {
  const verdict = row.meetsGoal === null ? 'not measured' : row.meetsGoal ? 'met' : 'NOT MET'
  const filed = row.atFiling ? `; at filing ${row.atFiling}` : ''
  return `${row.figure}: ${row.value ?? '—'} (goal ${row.goal}${filed}): ${verdict}`
}
