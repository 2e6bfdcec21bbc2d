import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveAdminToken, resolveInstanceOption, resolveServerUrl } from '../src/config.js'
import { CliError } from '../src/errors.js'

function folder(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-cli-'))
  mkdirSync(join(dir, '.strongroom'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

describe('resolveServerUrl', () => {
  it('prefers --url, then STRONGROOM_URL, then ./.strongroom/url (trimmed)', () => {
    const cwd = folder({ '.strongroom/url': ' http://file:1\n' })
    const env = { STRONGROOM_URL: 'http://env:2' }
    expect(resolveServerUrl('http://flag:3', env, cwd)).toEqual({ value: 'http://flag:3', source: '--url' })
    expect(resolveServerUrl(undefined, env, cwd)).toEqual({ value: 'http://env:2', source: 'STRONGROOM_URL' })
    expect(resolveServerUrl(undefined, {}, cwd).value).toBe('http://file:1')
  })

  it('names what it looked for and that npm start creates it when nothing is found', () => {
    const cwd = folder()
    expect(() => resolveServerUrl(undefined, {}, cwd)).toThrow(
      `no server URL: --url not given, STRONGROOM_URL not set and ${join(cwd, '.strongroom/url')} not found (\`npm start\` creates it)`,
    )
  })

  it('ignores an empty STRONGROOM_URL', () => {
    const cwd = folder({ '.strongroom/url': 'http://file:1' })
    expect(resolveServerUrl(undefined, { STRONGROOM_URL: '' }, cwd).value).toBe('http://file:1')
  })

  it('refuses what is not an http(s) URL, naming the source', () => {
    expect(() => resolveServerUrl('not a url', {}, '/')).toThrow('the server URL from --url is not a URL')
    expect(() => resolveServerUrl(undefined, { STRONGROOM_URL: 'ftp://x' }, '/')).toThrow(
      'the server URL from STRONGROOM_URL is not an http or https URL',
    )
  })
})

describe('resolveAdminToken', () => {
  it('prefers STRONGROOM_ADMIN_TOKEN, then --token-file, then ./.strongroom/admin-token', () => {
    const cwd = folder({ '.strongroom/admin-token': 'srat_default\n', 'other-token': 'srat_other\n' })
    expect(resolveAdminToken('other-token', { STRONGROOM_ADMIN_TOKEN: 'srat_env' }, cwd).value).toBe(
      'srat_env',
    )
    expect(resolveAdminToken('other-token', {}, cwd)).toEqual({
      value: 'srat_other',
      source: join(cwd, 'other-token'),
    })
    expect(resolveAdminToken(undefined, {}, cwd).value).toBe('srat_default')
  })

  it('fails on a missing --token-file instead of falling back', () => {
    const cwd = folder({ '.strongroom/admin-token': 'srat_default' })
    expect(() => resolveAdminToken('missing', {}, cwd)).toThrow(
      `cannot read the admin token file ${join(cwd, 'missing')}: ENOENT`,
    )
  })

  it('names the env var and the file when nothing is found', () => {
    const cwd = folder()
    let error: unknown
    try {
      resolveAdminToken(undefined, {}, cwd)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).message).toBe(
      `no admin token: STRONGROOM_ADMIN_TOKEN not set, --token-file not given and ${join(cwd, '.strongroom/admin-token')} not found (\`npm start\` creates it)`,
    )
  })

  it('refuses an empty token file and never prints a malformed token', () => {
    const cwd = folder({ empty: '\n' })
    expect(() => resolveAdminToken('empty', {}, cwd)).toThrow('is empty')
    const secret = 'srat_with space'
    expect(() => resolveAdminToken(undefined, { STRONGROOM_ADMIN_TOKEN: secret }, cwd)).toThrow(
      'the admin token from STRONGROOM_ADMIN_TOKEN contains characters a token cannot have',
    )
  })
})

describe('resolveInstanceOption', () => {
  it('prefers --instance, then STRONGROOM_INSTANCE', () => {
    expect(resolveInstanceOption('idaas_a', { STRONGROOM_INSTANCE: 'idaas_b' })).toBe('idaas_a')
    expect(resolveInstanceOption(undefined, { STRONGROOM_INSTANCE: 'idaas_b' })).toBe('idaas_b')
    expect(resolveInstanceOption(undefined, {})).toBeUndefined()
  })
})
