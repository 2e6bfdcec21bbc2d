import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import {
  resolveAdminConnection,
  resolveAdminToken,
  resolveInstanceOption,
  resolveServerUrl,
} from '../src/config.js'
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

describe('resolveAdminConnection: the folder’s URL goes only with the folder’s token', () => {
  const urlFile = (cwd: string) => join(cwd, '.strongroom/url')
  const tokenFile = (cwd: string) => join(cwd, '.strongroom/admin-token')
  const refusal = (cwd: string, from: string) =>
    `the server URL of ${urlFile(cwd)} is used only with the admin token of ${tokenFile(cwd)} in the same folder, not with the one from ${from}: give --url or STRONGROOM_URL`

  it('refuses the folder’s URL with a token from STRONGROOM_ADMIN_TOKEN, as a config error', () => {
    const cwd = folder({ '.strongroom/url': 'http://attacker.test\n' })
    let error: unknown
    try {
      resolveAdminConnection({}, { STRONGROOM_ADMIN_TOKEN: 'srat_env' }, cwd)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(CliError)
    expect(error).toMatchObject({
      code: 'ConfigInvalid',
      exitCode: 1,
      message: refusal(cwd, 'STRONGROOM_ADMIN_TOKEN'),
    })
  })

  it('refuses the folder’s URL with a token from --token-file, even the folder’s own file named so', () => {
    const cwd = folder({
      '.strongroom/url': 'http://attacker.test\n',
      '.strongroom/admin-token': 'srat_folder\n',
      mine: 'srat_mine\n',
    })
    expect(() => resolveAdminConnection({ tokenFile: 'mine' }, {}, cwd)).toThrow(
      refusal(cwd, join(cwd, 'mine')),
    )
    expect(() => resolveAdminConnection({ tokenFile: '.strongroom/admin-token' }, {}, cwd)).toThrow(
      refusal(cwd, tokenFile(cwd)),
    )
  })

  it('uses the folder’s URL with the folder’s token, and any token with --url or STRONGROOM_URL', () => {
    const cwd = folder({ '.strongroom/url': 'http://file:1\n', '.strongroom/admin-token': 'srat_folder\n' })
    expect(resolveAdminConnection({}, {}, cwd)).toEqual({
      url: { value: 'http://file:1', source: urlFile(cwd) },
      token: { value: 'srat_folder', source: tokenFile(cwd) },
    })
    const env = { STRONGROOM_ADMIN_TOKEN: 'srat_env' }
    expect(resolveAdminConnection({ url: 'http://flag:3' }, env, cwd).token.value).toBe('srat_env')
    expect(resolveAdminConnection({}, { ...env, STRONGROOM_URL: 'http://env:2' }, cwd).url.value).toBe(
      'http://env:2',
    )
  })
})

describe('the folder’s files: no symbolic links, only regular files of your own', () => {
  it('refuses ./.strongroom/admin-token that is a symbolic link, naming it, without reading its target', () => {
    const cwd = folder({ '.strongroom/url': 'http://file:1\n', 'git-credentials': 'https://u:secret@host\n' })
    symlinkSync(join(cwd, 'git-credentials'), join(cwd, '.strongroom/admin-token'))
    const path = join(cwd, '.strongroom/admin-token')
    const expected = `the admin token file ${path} is a symbolic link; refused: it must be a regular file of your own`
    expect(() => resolveAdminToken(undefined, {}, cwd)).toThrow(expected)
    expect(() => resolveAdminConnection({}, {}, cwd)).toThrow(expected)
  })

  it('refuses ./.strongroom/url that is a symbolic link, even a dangling one', () => {
    const cwd = folder()
    symlinkSync(join(cwd, 'nowhere'), join(cwd, '.strongroom/url'))
    expect(() => resolveServerUrl(undefined, {}, cwd)).toThrow(
      `the url file ${join(cwd, '.strongroom/url')} is a symbolic link; refused: it must be a regular file of your own`,
    )
  })

  it('refuses a folder file that is not a regular file, without blocking on a FIFO', () => {
    const cwd = folder()
    mkdirSync(join(cwd, '.strongroom/admin-token'))
    execFileSync('mkfifo', [join(cwd, '.strongroom/url')])
    expect(() => resolveAdminToken(undefined, {}, cwd)).toThrow(
      `the admin token file ${join(cwd, '.strongroom/admin-token')} is not a regular file; refused`,
    )
    expect(() => resolveServerUrl(undefined, {}, cwd)).toThrow(
      `the url file ${join(cwd, '.strongroom/url')} is not a regular file; refused`,
    )
  })

  it('refuses a folder file owned by someone else', () => {
    const cwd = folder({ '.strongroom/admin-token': 'srat_theirs\n', '.strongroom/url': 'http://file:1\n' })
    // The files are this process's; seen as another user (any uid, root or not), they are someone else's.
    const owner = process.getuid!()
    const you = owner + 1
    const asAnother = vi.spyOn(process, 'getuid').mockReturnValue(you)
    try {
      expect(() => resolveAdminToken(undefined, {}, cwd)).toThrow(
        `the admin token file ${join(cwd, '.strongroom/admin-token')} is owned by uid ${owner}, not by you (uid ${you}); refused`,
      )
      expect(() => resolveServerUrl(undefined, {}, cwd)).toThrow(
        `the url file ${join(cwd, '.strongroom/url')} is owned by uid ${owner}, not by you (uid ${you}); refused`,
      )
    } finally {
      asAnother.mockRestore()
    }
  })

  it('follows a --token-file link the user gave, but takes only a regular file', () => {
    const cwd = folder({ real: 'srat_real\n' })
    symlinkSync(join(cwd, 'real'), join(cwd, 'link'))
    expect(resolveAdminToken('link', {}, cwd).value).toBe('srat_real')
    mkdirSync(join(cwd, 'dir'))
    expect(() => resolveAdminToken('dir', {}, cwd)).toThrow(
      `the admin token file ${join(cwd, 'dir')} is not a regular file; refused`,
    )
    execFileSync('mkfifo', [join(cwd, 'fifo')])
    expect(() => resolveAdminToken('fifo', {}, cwd)).toThrow(
      `the admin token file ${join(cwd, 'fifo')} is not a regular file; refused`,
    )
  })
})
