import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProof } from '../../../sdk/src/proof/create-proof.js'
import { importProofKey, type ProofKey } from '../../../sdk/src/proof/proof-key.js'
import { ENGINES } from '../support/engines.js'
import { ath, signRaw } from '../unit/proof-of-possession/support.js'
import {
  API,
  type BoundTokenServer,
  bindingKeyOf,
  CREDENTIAL,
  issueScoped,
  issueSession,
  openBoundTokenServer,
  PAM,
  publicUrlOf,
} from './bound-tokens-support.js'

const printable = (maxLength: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${maxLength}}$`))

describe.each(ENGINES)('the key-bound token endpoints on %s', (engine) => {
  let b: BoundTokenServer
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  let key: ProofKey
  const tokens: Record<string, string> = {}
  beforeAll(async () => {
    b = await openBoundTokenServer(engine)
    key = await importProofKey(pair.privateKey)
    tokens.plain = await b.accessToken()
    tokens.scoped = (
      await issueScoped(b, tokens.plain, { scope: `${PAM}|.all`, publicKey: bindingKeyOf(key) })
    ).body.accessToken
    tokens.session = (
      await issueSession(b, tokens.plain, {
        scope: `${PAM}|.all`,
        publicKey: bindingKeyOf(key),
        sessionExpirationInMinutes: 60,
      })
    ).body.accessToken
  })
  afterAll(async () => b?.close())

  it('never answers 5xx to random bodies, Authorization and DPoP headers (fast-check)', async () => {
    const paths = [
      ['POST', 'scopedTokens/_/actions/issue'],
      ['POST', 'sessionTokens/_/actions/issue'],
      ['POST', 'sessionTokens/_/actions/refresh'],
      ['POST', 'sessionTokens/_/actions/revoke'],
      ['GET', `credentials/_/actions/obtain?credentialIdentifier=${encodeURIComponent(CREDENTIAL)}`],
    ] as const
    const tokenNames = ['plain', 'scoped', 'session'] as const
    const mutated = fc
      .tuple(fc.constantFrom(...tokenNames), fc.nat(), fc.constantFrom(...'Aa0_-.'))
      .map(([name, at, c]) => {
        const t = tokens[name]!
        const i = at % t.length
        return t.slice(0, i) + c + t.slice(i + 1)
      })
    const authorization = fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 1 },
      { arbitrary: printable(120), weight: 1 },
      {
        arbitrary: fc
          .tuple(fc.constantFrom('Bearer', 'DPoP', 'DPoP', 'dpop', 'Basic'), fc.constantFrom(...tokenNames))
          .map(([scheme, name]) => `${scheme} ${tokens[name]}`),
        weight: 6,
      },
      {
        arbitrary: fc.tuple(fc.constantFrom('Bearer ', 'DPoP '), mutated).map(([scheme, t]) => scheme + t),
        weight: 1,
      },
      {
        arbitrary: fc
          .tuple(fc.constantFrom('Bearer ', 'DPoP '), printable(60))
          .map(([scheme, t]) => scheme + t),
        weight: 1,
      },
    )
    const anyValue = fc.jsonValue({ maxDepth: 2 })
    const jwkish = fc.record(
      {
        kty: fc.oneof(fc.constantFrom('EC', 'OKP', 'RSA', 'oct'), anyValue),
        crv: fc.oneof(fc.constantFrom('P-256', 'P-384', 'Ed25519', 'X25519'), anyValue),
        x: fc.oneof(fc.base64String({ maxLength: 60 }), anyValue),
        y: fc.oneof(fc.base64String({ maxLength: 60 }), anyValue),
        n: fc.oneof(fc.base64String({ minLength: 300, maxLength: 400 }), anyValue),
        e: fc.oneof(fc.constantFrom('AQAB', ''), anyValue),
        d: anyValue,
        k: anyValue,
      },
      { requiredKeys: [] },
    )
    const publicKey = fc.oneof(
      fc.constant('valid-jwk' as const),
      fc.constant('valid-pem' as const),
      fc.record({ jwk: jwkish }),
      fc.record({ pem: fc.oneof(printable(200), anyValue) }),
      fc.dictionary(fc.constantFrom('jwk', 'pem', 'x'), anyValue, { maxKeys: 3 }),
      anyValue,
    )
    // Mostly well-formed, so that the checks behind the schema are reached too.
    const often = <T, U>(usual: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
      fc.oneof({ arbitrary: usual, weight: 4 }, { arbitrary: other, weight: 1 })
    const scope = often(
      fc.constantFrom(
        `${PAM}|.all`,
        `${PAM}|credential:obtain`,
        `${PAM}|authentication_token:read`,
        `${API}|read`,
        `${API}|admin`,
      ),
      fc.oneof(
        fc.constantFrom(`${PAM}|nope`, 'no-audience', `${PAM}|credential:obtain authentication_token:read`),
        printable(80),
        anyValue,
      ),
    )
    const body = often(
      fc.record(
        {
          scope,
          publicKey: often(fc.constantFrom('valid-jwk' as const, 'valid-pem' as const), publicKey),
          expiration: often(fc.integer({ min: 60, max: 3600 }), fc.oneof(fc.integer(), anyValue)),
          sessionExpirationInMinutes: often(
            fc.integer({ min: 5, max: 60 }),
            fc.oneof(fc.integer(), anyValue),
          ),
          extra: anyValue,
        },
        { requiredKeys: [] },
      ),
      anyValue,
    )
    const proofKind = fc.oneof(
      { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
      { arbitrary: fc.constant({ kind: 'valid' as const }), weight: 4 },
      { arbitrary: fc.constant({ kind: 'twice' as const }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('string' as const), value: printable(300) }), weight: 1 },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('crafted' as const),
          header: fc.record(
            {
              typ: often(fc.constant('dpop+jwt'), anyValue),
              alg: often(fc.constant('ES256'), fc.oneof(fc.constantFrom('EdDSA', 'none', 'HS256'), anyValue)),
              jwk: often(fc.constant('mine' as const), fc.oneof(jwkish, anyValue)),
              crit: anyValue,
            },
            { requiredKeys: ['typ', 'alg', 'jwk'] },
          ),
          claims: fc.record(
            {
              jti: often(fc.uuid(), anyValue),
              htm: often(fc.constantFrom('GET', 'POST'), fc.oneof(fc.constant('post'), anyValue)),
              htu: often(fc.constant('right' as const), fc.oneof(printable(80), anyValue)),
              iat: often(fc.constant('now' as const), fc.oneof(fc.integer(), anyValue)),
              ath: often(fc.constant('right' as const), anyValue),
            },
            { requiredKeys: [] },
          ),
        }),
      },
    )

    const mine = createPublicKey(pair.privateKey).export({ format: 'jwk' })
    let failures = 0
    const seen = new Set<string>()
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        authorization,
        proofKind,
        body,
        fc.boolean(),
        fc.nat(20),
        async ([method, tail], auth, proof, payload, rawBody, dice) => {
          const corrupt = dice === 0
          b.clock.now += 1000
          const path = `${b.v2}/${tail}`
          const htu = publicUrlOf(b, path.split('?')[0]!)
          const token = auth?.split(' ')[1] ?? ''
          const headers: Record<string, string | string[]> = {}
          if (auth !== undefined) headers.authorization = auth
          if (proof.kind === 'valid' || proof.kind === 'twice') {
            const dpop = await createProof(key, {
              method,
              url: htu,
              ...(token ? { accessToken: token } : {}),
              now: b.clock.now,
            })
            headers.dpop = proof.kind === 'twice' ? [dpop, dpop] : dpop
          } else if (proof.kind === 'string') {
            headers.dpop = proof.value
          } else if (proof.kind === 'crafted') {
            const header = { ...proof.header, ...(proof.header.jwk === 'mine' ? { jwk: mine } : {}) }
            const claims: Record<string, unknown> = { ...proof.claims }
            if (claims.htu === 'right') claims.htu = htu
            if (claims.iat === 'now') claims.iat = Math.floor(b.clock.now / 1000)
            if (claims.ath === 'right') claims.ath = ath(token)
            headers.dpop = signRaw(header, claims, pair.privateKey)
          }
          if (method === 'POST') headers['content-type'] = 'application/json'
          let json: unknown = payload
          if (typeof json === 'object' && json !== null && !Array.isArray(json)) {
            const { extra, expiration, sessionExpirationInMinutes, ...rest } = json as Record<string, unknown>
            if (rawBody) json = { ...rest, extra, expiration, sessionExpirationInMinutes }
            else if (tail.startsWith('scopedTokens')) json = { ...rest, expiration }
            else if (tail.startsWith('sessionTokens/_/actions/issue'))
              json = { ...rest, sessionExpirationInMinutes }
            else json = {}
            const pk = (json as { publicKey?: unknown }).publicKey
            if (pk === 'valid-jwk' || pk === 'valid-pem')
              json = { ...(json as object), publicKey: bindingKeyOf(key, pk === 'valid-jwk' ? 'jwk' : 'pem') }
          }
          const res = await b.t.app.inject({
            method,
            url: path,
            headers,
            ...(method === 'POST'
              ? { payload: corrupt ? String(JSON.stringify(json)).slice(1) : JSON.stringify(json) }
              : {}),
          })
          if (res.statusCode >= 500) {
            failures++
            throw new Error(
              `${method} ${tail} answered ${res.statusCode}: ${res.body} to ${JSON.stringify({ auth, proof, json })}`,
            )
          }
          const answer = res.json() as Record<string, unknown>
          if (res.statusCode >= 400) expect(typeof answer.Code).toBe('string')
          seen.add(res.statusCode >= 400 ? String(answer.Code) : `${res.statusCode} ${tail.split('?')[0]}`)
        },
      ),
      { numRuns: 400 },
    )
    expect(failures).toBe(0)
    // The runs reached past the schemas: some succeeded, some proofs were judged.
    expect([...seen].some((c) => c.startsWith('200 '))).toBe(true)
    expect([...seen].some((c) => c.startsWith('Proof'))).toBe(true)
  })
})
