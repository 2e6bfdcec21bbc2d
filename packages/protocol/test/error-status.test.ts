import { STATUS_CODES } from 'node:http'
import { PROOF_REFUSALS, proofRefusalOAuthError } from '@strongroom/dpop'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, ERROR_STATUS, type ErrorCode } from '../src/errors.js'

const entries = Object.entries(ERROR_STATUS) as [ErrorCode, (typeof ERROR_STATUS)[ErrorCode]][]

/** The `error` values a `WWW-Authenticate` challenge of a 401 carries (RFC 6750 §3, RFC 9449 §7.1, RFC 6749 §5.2). */
const CHALLENGE_ERRORS = ['invalid_token', 'invalid_client', 'invalid_dpop_proof', 'use_dpop_nonce']

describe('ERROR_STATUS, the status and OAuth error of every code', () => {
  it('has an entry for every code of ERROR_CODES, and none for a code not in it', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length)
    const missing = ERROR_CODES.filter((code) => !Object.hasOwn(ERROR_STATUS, code))
    expect(missing).toEqual([])
    const unknown = Object.keys(ERROR_STATUS).filter(
      (code) => !(ERROR_CODES as readonly string[]).includes(code),
    )
    expect(unknown).toEqual([])
  })

  it('gives each code an HTTP error status (4xx or 5xx, one HTTP names)', () => {
    for (const [code, entry] of entries) {
      const statuses = [entry.status, ...(entry.atOAuthEndpoint ? [entry.atOAuthEndpoint.status] : [])]
      for (const status of statuses) {
        expect(Number.isInteger(status), code).toBe(true)
        expect(status >= 400 && status <= 599, `${code}: ${status}`).toBe(true)
        expect(STATUS_CODES[status], `${code}: ${status}`).toBeDefined()
      }
    }
  })

  it('gives OAuth errors in the form OAuth defines them (lower case and underscores)', () => {
    for (const [code, entry] of entries) {
      for (const error of [entry.oauthError, entry.atOAuthEndpoint?.oauthError]) {
        if (error !== undefined) expect(error, code).toMatch(/^[a-z]+(?:_[a-z]+)*$/)
      }
    }
  })

  it('gives every 401 an error its WWW-Authenticate challenge can carry, and every 403 insufficient_scope', () => {
    for (const [code, entry] of entries) {
      if (entry.status === 401) expect(CHALLENGE_ERRORS, code).toContain(entry.oauthError)
      if (entry.status === 403) expect(entry.oauthError, code).toBe('insufficient_scope')
    }
  })

  it('answers at the OAuth endpoints only as RFC 6749 §5.2 allows: 400, or 401 for invalid_client', () => {
    for (const [code, entry] of entries) {
      const at = entry.atOAuthEndpoint
      if (at === undefined) continue
      const error = at.oauthError ?? entry.oauthError
      expect(error, code).toBeDefined()
      expect(at.status, code).toBe(error === 'invalid_client' ? 401 : 400)
    }
  })

  it('answers a refused DPoP proof 401 at a resource and 400 at the token endpoint, with dpop’s error', () => {
    for (const reason of PROOF_REFUSALS) {
      expect(ERROR_STATUS[reason]).toEqual({
        status: 401,
        oauthError: proofRefusalOAuthError(reason),
        atOAuthEndpoint: { status: 400 },
      })
    }
  })

  it('keeps the statuses the wire contract names for the codes that once had two', () => {
    expect(ERROR_STATUS.UpstreamUnavailable.status).toBe(502)
    expect(ERROR_STATUS.UpstreamTimeout.status).toBe(504)
    expect(ERROR_STATUS['InvalidParameter.ContentType']).toMatchObject({
      status: 415,
      atOAuthEndpoint: { status: 400 },
    })
    expect(ERROR_STATUS.Forbidden).toMatchObject({
      status: 403,
      atOAuthEndpoint: { status: 400, oauthError: 'unauthorized_client' },
    })
    expect(ERROR_STATUS.UnsupportedTokenType).toEqual({ status: 400, oauthError: 'unsupported_token_type' })
    expect(
      [
        ERROR_STATUS.StsRefused,
        ERROR_STATUS.StsThrottled,
        ERROR_STATUS.StsTimeout,
        ERROR_STATUS.StsUnavailable,
      ].map((e) => e.status),
    ).toEqual([502, 503, 504, 502])
  })
})
