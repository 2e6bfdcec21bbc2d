import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
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

describe('resolveAdminToken: the token file’s mode', () => {
  /** Resolves with the token file at `mode`, returning the token and the warnings given. */
  const withMode = (mode: number, tokenFile?: string) => {
    const cwd = folder({ '.strongroom/admin-token': 'srat_default\n', 'other-token': 'srat_other\n' })
    const path = join(cwd, tokenFile ?? '.strongroom/admin-token')
    chmodSync(path, mode)
    const warnings: string[] = []
    const token = resolveAdminToken(tokenFile, {}, cwd, (line) => warnings.push(line))
    return { path, token, warnings }
  }

  it('warns, once and naming the file and chmod 600, when group or others can read it, and uses it all the same', () => {
    for (const [mode, tokenFile] of [
      [0o644, undefined],
      [0o640, 'other-token'],
      [0o604, undefined],
    ] as const) {
      const { path, token, warnings } = withMode(mode, tokenFile)
      expect(token.source).toBe(path)
      expect(warnings).toEqual([
        `warning: the admin token file ${path} can be read by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
      ])
    }
  })

  it('says nothing for a file only its owner can read, or a token from the environment', () => {
    for (const mode of [0o600, 0o400, 0o620]) expect(withMode(mode).warnings).toEqual([])
    const cwd = folder({ '.strongroom/admin-token': 'srat_default\n' })
    chmodSync(join(cwd, '.strongroom/admin-token'), 0o644)
    const warnings: string[] = []
    resolveAdminToken(undefined, { STRONGROOM_ADMIN_TOKEN: 'srat_env' }, cwd, (line) => warnings.push(line))
    expect(warnings).toEqual([])
  })
})

describe('resolveInstanceOption', () => {
  it('prefers --instance, then STRONGROOM_INSTANCE', () => {
    expect(resolveInstanceOption('idaas_a', { STRONGROOM_INSTANCE: 'idaas_b' })).toBe('idaas_a')
    expect(resolveInstanceOption(undefined, { STRONGROOM_INSTANCE: 'idaas_b' })).toBe('idaas_b')
    expect(resolveInstanceOption(undefined, {})).toBeUndefined()
  })
})
