// OCI request signatures on both engines: requests signed by the official OCI signer (oci-common),
// then altered, are each refused 401 `NotAuthenticated` in OCI's error body with one audit event
// naming why; a replayed signature is refused on every node; and no request to either endpoint,
// however malformed, gets a 5xx (fast-check).
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pruneOciSignatures } from '../../src/store/housekeeping.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import {
  type BoundTokenServer,
  bindingKeyOf,
  newKey,
  openBoundTokenServer,
  PAM,
  send,
} from './bound-tokens-support.js'
import {
  newRsaKey,
  type OciApiKey,
  ociPath,
  post,
  registerOciKey,
  SCOPED_PATH,
  type SignOptions,
  signedHeaders,
  UPST_PATH,
} from './oci-support.js'

type Headers = Record<string, string>
interface Case {
  why: string
  /** Signs a fresh request (with `sign`, at the server's time `now`) and alters what is sent. */
  make: (
    sign: (o?: SignOptions) => Promise<Headers>,
    body: string,
    now: number,
  ) => Promise<{ headers: Headers; body: string }>
}

const tamper = (signature: string) => {
  const i = signature.indexOf('signature="') + 'signature="'.length + 5
  return `${signature.slice(0, i)}${signature[i] === 'A' ? 'B' : 'A'}${signature.slice(i + 1)}`
}

const CASES: Record<string, Case> = {
  'no signature at all': {
    why: 'signature_malformed',
    make: async (sign, body) => {
      const { authorization: _, ...headers } = await sign()
      return { headers, body }
    },
  },
  'a bearer token instead of a signature': {
    why: 'signature_malformed',
    make: async (sign, body) => ({ headers: { ...(await sign()), authorization: 'Bearer abc' }, body }),
  },
  'another algorithm': {
    why: 'algorithm_unsupported',
    make: async (sign, body) => {
      const headers = await sign()
      return {
        headers: { ...headers, authorization: headers.authorization!.replace('rsa-sha256', 'hmac-sha256') },
        body,
      }
    },
  },
  'an unknown key: a fingerprint no key of the application has': {
    why: 'key_unknown',
    make: async (sign, body) => ({
      headers: await sign({ keyId: { fingerprint: '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff' } }),
      body,
    }),
  },
  'an unknown key: another tenancy': {
    why: 'key_unknown',
    make: async (sign, body) => ({
      headers: await sign({ keyId: { tenancy: 'idaas_00000000000000000000000000' } }),
      body,
    }),
  },
  'an unknown key: another user': {
    why: 'key_unknown',
    make: async (sign, body) => ({
      headers: await sign({ keyId: { user: 'app_00000000000000000000000000' } }),
      body,
    }),
  },
  'a bad signature: a byte of it changed': {
    why: 'signature_invalid',
    make: async (sign, body) => {
      const headers = await sign()
      return { headers: { ...headers, authorization: tamper(headers.authorization!) }, body }
    },
  },
  'a bad signature: signed by another private key': {
    why: 'signature_invalid',
    make: async (sign, body) => ({ headers: await sign({ privatePem: newRsaKey().privatePem }), body }),
  },
  'a bad signature: signed for another host': {
    why: 'signature_invalid',
    make: async (sign, body) => ({ headers: await sign({ base: 'https://elsewhere.example' }), body }),
  },
  'a bad signature: a signed header changed after signing': {
    why: 'signature_invalid',
    make: async (sign, body) => ({
      headers: { ...(await sign()), 'content-type': 'application/json; charset=utf-8' },
      body,
    }),
  },
  'a signed header missing from the request': {
    why: 'signed_header_missing',
    make: async (sign, body) => {
      const { 'x-content-sha256': _, ...headers } = await sign()
      return { headers, body }
    },
  },
  'a signature that does not cover the body headers': {
    why: 'header_not_signed',
    make: async (sign, body) => ({ headers: await sign({ excludeBody: true }), body }),
  },
  'a body whose SHA-256 differs from x-content-sha256': {
    why: 'body_digest_mismatch',
    // The same length, another scope: the signature over the headers still holds.
    make: async (sign, body) => ({
      headers: await sign(),
      body: body.replace('credential:obtain', 'account:obtain___'),
    }),
  },
  'a date 6 minutes in the past': {
    why: 'date_out_of_window',
    make: async (sign, body, now) => ({ headers: await sign({ date: now - 6 * 60_000 }), body }),
  },
  'a date that is no date': {
    why: 'date_invalid',
    make: async (sign, body) => {
      const headers = await sign()
      return { headers: { ...headers, 'x-date': 'yesterday' }, body }
    },
  },
}

describe.each(ENGINES)('OCI request signatures (%s)', (engine) => {
  let b: BoundTokenServer
  let key: OciApiKey
  beforeAll(async () => {
    b = await openBoundTokenServer(engine)
    key = await registerOciKey(b)
  })
  afterAll(async () => b?.close())

  const events = () =>
    b.t.services.store.db
      .selectFrom('audit_events')
      .select(['seq', 'action', 'outcome', 'actor_type', 'actor_id', 'details'])
      .where('instance_id', '=', b.t.instanceId)
      .where('action', '!=', 'signing_key.create')
      .orderBy('seq')
      .execute()

  const scopedBody = async () =>
    JSON.stringify({
      scope: `${PAM}|credential:obtain`,
      publicKey: (bindingKeyOf(await newKey('RS256'), 'pem') as { pem: string }).pem,
    })

  const expectRefused = async (
    res: Awaited<ReturnType<typeof post>>,
    before: number,
    why: string,
    actor: 'anonymous' | 'application',
  ) => {
    expect(res.status, res.raw).toBe(401)
    expect(res.body).toEqual({ code: 'NotAuthenticated', message: expect.any(String) })
    expect(res.headers['opc-request-id']).toMatch(/^req_/)
    expect(String(res.headers['www-authenticate'])).toMatch(/^Signature headers="/)
    const written = (await events()).slice(before)
    expect(written, JSON.stringify(written)).toHaveLength(1)
    expect(written[0]).toMatchObject({ action: 'oci.authenticate', outcome: 'failure', actor_type: actor })
    expect(JSON.parse(written[0]!.details)).toMatchObject({ why })
  }

  it.each(Object.entries(CASES))('refuses %s, audited once', async (_name, c) => {
    const body = await scopedBody()
    const sign = (o: SignOptions = {}) => signedHeaders(b, key, SCOPED_PATH, body, o)
    const sent = await c.make(sign, body, b.clock.now)
    const before = (await events()).length
    const res = await post(b.t, ociPath(b, SCOPED_PATH), sent.headers, sent.body)
    // The application is the actor once its signature verified; before, it is only named.
    const identified = c.why === 'body_digest_mismatch'
    await expectRefused(res, before, c.why, identified ? 'application' : 'anonymous')
  })

  it('refuses a date more than 5 minutes ahead too, and takes one less than 5 minutes either way', async () => {
    for (const [offset, status] of [
      [6 * 60_000, 401],
      [4 * 60_000, 200],
      [-4 * 60_000, 200],
    ] as const) {
      const body = await scopedBody()
      const headers = await signedHeaders(b, key, SCOPED_PATH, body, { date: b.clock.now + offset })
      const res = await post(b.t, ociPath(b, SCOPED_PATH), headers, body)
      expect(res.status, `${offset}: ${res.raw}`).toBe(status)
    }
  })

  it('refuses a replayed signature, on both endpoints, audited once each time', async () => {
    for (const path of [SCOPED_PATH, UPST_PATH]) {
      const body =
        path === SCOPED_PATH
          ? await scopedBody()
          : JSON.stringify({ publicKey: newRsaKey().publicPem, sessionExpirationInMinutes: 5 })
      const headers = await signedHeaders(b, key, path, body)
      expect((await post(b.t, ociPath(b, path), headers, body)).status).toBe(200)
      for (let i = 0; i < 2; i++) {
        const before = (await events()).length
        await expectRefused(
          await post(b.t, ociPath(b, path), headers, body),
          before,
          'signature_replayed',
          'application',
        )
      }
    }
  })

  it('forgets a signature once its date has left the window, when it is refused on its date anyway', async () => {
    const body = await scopedBody()
    const headers = await signedHeaders(b, key, SCOPED_PATH, body)
    expect((await post(b.t, ociPath(b, SCOPED_PATH), headers, body)).status).toBe(200)
    const count = async () =>
      Number(
        (
          await b.t.services.store.db
            .selectFrom('used_oci_signatures')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('instance_id', '=', b.t.instanceId)
            .executeTakeFirstOrThrow()
        ).n,
      )
    const recorded = await count()
    expect(recorded).toBeGreaterThan(0)
    const start = b.clock.now
    try {
      b.clock.now = start + 4 * 60_000
      expect(await pruneOciSignatures(b.t.services)).toBe(0)
      b.clock.now = start + 15 * 60_000
      expect(await pruneOciSignatures(b.t.services)).toBe(recorded)
      expect(await count()).toBe(0)
      const before = (await events()).length
      await expectRefused(
        await post(b.t, ociPath(b, SCOPED_PATH), headers, body),
        before,
        'date_out_of_window',
        'anonymous',
      )
    } finally {
      b.clock.now = start
    }
  })

  it('refuses a disabled application only once its signature verifies, and serves it again once enabled', async () => {
    const other = (
      await send(b.t, 'POST', `/admin/v1/instances/${b.t.instanceId}/applications`, b.t.auth, {
        name: 'oci-disabled',
        allowedScopes: [`${PAM}|.all`],
      })
    ).body
    const otherKey = await registerOciKey(b, newRsaKey(), other.applicationId)
    const app = `/admin/v1/instances/${b.t.instanceId}/applications/${other.applicationId}`
    expect((await send(b.t, 'POST', `${app}/disable`, b.t.auth, {})).status).toBeLessThan(300)
    const body = await scopedBody()
    let before = (await events()).length
    const forged = await signedHeaders(b, otherKey, SCOPED_PATH, body, { privatePem: newRsaKey().privatePem })
    await expectRefused(
      await post(b.t, ociPath(b, SCOPED_PATH), forged, body),
      before,
      'signature_invalid',
      'anonymous',
    )
    before = (await events()).length
    const headers = await signedHeaders(b, otherKey, SCOPED_PATH, body)
    await expectRefused(
      await post(b.t, ociPath(b, SCOPED_PATH), headers, body),
      before,
      'application_disabled',
      'application',
    )
    expect((await send(b.t, 'POST', `${app}/enable`, b.t.auth, {})).status).toBeLessThan(300)
    const fresh = await scopedBody()
    const res = await post(
      b.t,
      ociPath(b, SCOPED_PATH),
      await signedHeaders(b, otherKey, SCOPED_PATH, fresh),
      fresh,
    )
    expect(res.status, res.raw).toBe(200)
  })

  it('never answers 5xx to random bodies and headers on either endpoint (fast-check)', async () => {
    const printable = fc.stringMatching(/^[\x21-\x7e]{0,60}$/)
    const json = fc.jsonValue({ maxDepth: 3 })
    const body = fc.oneof(
      json.map((v) => JSON.stringify(v)),
      printable,
      fc
        .record(
          {
            scope: fc.oneof(
              fc.constantFrom(`${PAM}|.all`, 'https://api.example.com|read', `${PAM}|x`),
              printable,
              json,
            ),
            publicKey: fc.oneof(fc.constant(newRsaKey().publicPem), printable, json),
            sessionExpirationInMinutes: fc.oneof(fc.integer({ min: -5, max: 90 }), json),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    )
    const alter = fc.oneof(
      fc.constant<[string, string] | undefined>(undefined),
      fc.tuple(
        fc.constantFrom(
          'authorization',
          'x-date',
          'date',
          'host',
          'content-type',
          'x-content-sha256',
          'content-length',
        ),
        printable,
      ),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(SCOPED_PATH, UPST_PATH),
        body,
        fc.boolean(),
        alter,
        async (path, text, signIt, change) => {
          let headers: Headers = signIt
            ? await signedHeaders(b, key, path, text)
            : { 'content-type': 'application/json', authorization: 'Signature keyId="a/b/c",signature="x"' }
          if (change) {
            const [name, value] = change
            // Headers whose value decides the framing are left alone: the framework refuses those itself.
            if (name === 'content-length')
              headers = { ...headers, 'content-length': String(Buffer.byteLength(text)) }
            else headers = { ...headers, [name]: value }
          }
          const res = await post(b.t, ociPath(b, path), headers, text)
          expect(res.status, res.raw).toBeLessThan(500)
          if (res.status === 200) expect(Object.keys(res.body)).toEqual(['token'])
          else expect(res.body).toEqual({ code: expect.any(String), message: expect.any(String) })
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('the OCI signature replay store, across two nodes on one PostgreSQL database', () => {
  let a: BoundTokenServer
  let nodeB: TestServer
  let key: OciApiKey
  beforeAll(async () => {
    a = await openBoundTokenServer('postgres')
    nodeB = await openTestServer('postgres', {
      db: a.t.db,
      rootKey: a.t.rootKey,
      now: () => a.clock.now,
      app: { authFailures: { burst: 100_000, refillPerSecond: 1 } },
    })
    key = await registerOciKey(a)
  })
  afterAll(async () => {
    await nodeB?.close()
    await a?.close()
  })

  it('accepts a signed request sent to both nodes at once exactly once', async () => {
    for (let round = 0; round < 4; round++) {
      const body = JSON.stringify({ publicKey: newRsaKey().publicPem, sessionExpirationInMinutes: 5 })
      const headers = await signedHeaders(a, key, UPST_PATH, body)
      const answers = await Promise.all(
        [a.t, nodeB, a.t, nodeB].map((node) => post(node, ociPath(a, UPST_PATH), headers, body)),
      )
      expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401, 401])
      expect(answers.filter((r) => r.status === 401).map((r) => r.body.code)).toEqual([
        'NotAuthenticated',
        'NotAuthenticated',
        'NotAuthenticated',
      ])
    }
  })
})
