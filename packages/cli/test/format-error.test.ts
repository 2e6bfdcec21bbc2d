import { describe, expect, it } from 'vitest'
import { ApiError, CliError, UsageError } from '../src/errors.js'
import { formatError } from '../src/format-error.js'
import { Output } from '../src/output.js'
import { usageErrorLine } from '../src/program.js'
import { Collector } from './fake-io.js'

describe('formatError', () => {
  it('formats an API error with its code, message and request id', () => {
    const error = new ApiError({
      status: 404,
      apiCode: 'CredentialNotFound',
      message: 'credential x does not exist',
      requestId: 'req_1',
    })
    expect(formatError(error)).toBe(
      'strongroom: CredentialNotFound: credential x does not exist (request req_1)',
    )
  })

  it('includes field and rule when present', () => {
    const error = new ApiError({
      status: 400,
      apiCode: 'InvalidParameter',
      message: 'value.apiKey is too long',
      requestId: 'req_2',
      field: 'value.apiKey',
      rule: 'maxLength',
    })
    expect(formatError(error)).toBe(
      'strongroom: InvalidParameter: value.apiKey is too long (field value.apiKey, rule maxLength, request req_2)',
    )
  })

  it('is always one line, whatever the message holds', () => {
    const error = new ApiError({ status: 500, apiCode: 'InternalError', message: 'a\nb\u001b[31m\r\nc' })
    const line = formatError(error)
    expect(line).not.toMatch(/[\n\r\u001b]/)
    expect(line).toBe('strongroom: InternalError: a b [31m c')
  })

  it('writes bidi controls and line separators as visible \\u escapes', () => {
    const error = new ApiError({
      status: 400,
      apiCode: 'InvalidParameter',
      message: 'bad \u202eclient\u2066 id\u2028',
    })
    expect(formatError(error)).toBe('strongroom: InvalidParameter: bad \\u202eclient\\u2066 id\\u2028')
    expect(formatError(new CliError('HttpError', 'x\u200fy\u061c'))).toBe('strongroom: x\\u200fy\\u061c')
  })

  it('Output.error flattens C0 and C1 controls and writes bidi controls as \\u escapes', () => {
    const stderr = new Collector()
    new Output(new Collector(), stderr, { json: false, color: false }).error('seq 5:\n\u0085a\u202eb\u2069')
    expect(stderr.text).toBe('strongroom: seq 5: a\\u202eb\\u2069\n')
  })

  it('redacts known secrets as a last line of defence', () => {
    const error = new CliError('NetworkError', 'header Bearer srat_SECRETVALUE is invalid')
    expect(formatError(error, ['srat_SECRETVALUE'])).toBe('strongroom: header Bearer [redacted] is invalid')
  })

  it('shows CLI errors by their message and unknown errors as unexpected', () => {
    expect(formatError(new UsageError('credential update needs --name or --description'))).toBe(
      'strongroom: credential update needs --name or --description',
    )
    expect(formatError(new TypeError('boom'))).toBe('strongroom: unexpected error: boom')
    expect(formatError('thrown string')).toBe('strongroom: unexpected error: thrown string')
  })

  it("shows the server's configuration and system errors as they are", () => {
    const configError = Object.assign(new Error('no database at /x/strongroom.db'), { name: 'ConfigError' })
    expect(formatError(configError)).toBe('strongroom: no database at /x/strongroom.db')
    const systemError = Object.assign(new Error('listen EADDRINUSE: address already in use'), {
      code: 'EADDRINUSE',
    })
    expect(formatError(systemError)).toBe('strongroom: listen EADDRINUSE: address already in use')
  })
})

describe('usageErrorLine', () => {
  it("turns commander's error: prefix into strongroom:", () => {
    expect(usageErrorLine("error: missing required argument 'credential'\n")).toBe(
      "strongroom: missing required argument 'credential'\n",
    )
  })

  it('hides the value of an unknown --option=value', () => {
    expect(usageErrorLine("error: unknown option '--value=sk_live_1'\n")).toBe(
      "strongroom: unknown option '--value=…'\n",
    )
  })

  it("says a value starting with '-' (a key id, one time in 64) goes after '--'", () => {
    expect(usageErrorLine("error: unknown option '-Qx3fY_k2'\n")).toBe(
      "strongroom: unknown option '-Qx3fY_k2' (a value that starts with '-', such as a key id, goes after '--')\n",
    )
    expect(usageErrorLine("error: unknown option '--frobnicate'\n")).toBe(
      "strongroom: unknown option '--frobnicate'\n",
    )
    expect(usageErrorLine("error: unknown option '-z'\n")).toBe("strongroom: unknown option '-z'\n")
  })
})
