import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadClientConfig } from '../../src/config/load-client-config.js'
import { ConfigurationError } from '../../src/errors.js'

const document = (clientId: string) => ({
  idaasInstanceId: 'idaas_demo',
  clientId,
  issuer: 'idaas.example.com/api/v2/iauths_system/oauth2',
  tokenEndpoint: 'idaas.example.com/api/v2/iauths_system/oauth2/token',
  developerApiEndpoint: 'eiam-developerapi.cn-hangzhou.aliyuncs.com',
  authnConfiguration: { authnMethod: 'CLIENT_SECRET_BASIC', clientSecretEnvVarName: 'IDAAS_CLIENT_SECRET' },
})

let root: string
let home: string
let idaasDir: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'strongroom-sdk-config-'))
  home = join(root, 'home')
  idaasDir = join(home, '.cloud_idaas')
  await mkdir(idaasDir, { recursive: true })
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

async function writeJson(path: string, value: unknown): Promise<string> {
  await writeFile(path, JSON.stringify(value, null, 2))
  return path
}

async function refusal(promise: Promise<unknown>): Promise<ConfigurationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ConfigurationError)
  return error as ConfigurationError
}

describe('loadClientConfig: which file', () => {
  it('reads ~/.cloud_idaas/client-config.json', async () => {
    const path = await writeJson(join(idaasDir, 'client-config.json'), document('app_dash'))
    const config = await loadClientConfig({ env: {}, homedir: home })
    expect(config.source).toBe(path)
    expect(config.clientId).toBe('app_dash')
    expect(config.developerApiEndpoint).toBe('https://eiam-developerapi.cn-hangzhou.aliyuncs.com')
  })

  it('reads ~/.cloud_idaas/client_config.json when client-config.json is absent', async () => {
    const path = await writeJson(join(idaasDir, 'client_config.json'), document('app_underscore'))
    const config = await loadClientConfig({ env: {}, homedir: home })
    expect(config.source).toBe(path)
    expect(config.clientId).toBe('app_underscore')
  })

  it('prefers client-config.json when both exist', async () => {
    await writeJson(join(idaasDir, 'client_config.json'), document('app_underscore'))
    await writeJson(join(idaasDir, 'client-config.json'), document('app_dash'))
    expect((await loadClientConfig({ env: {}, homedir: home })).clientId).toBe('app_dash')
  })

  it('reads the file CLOUD_IDAAS_CONFIG_PATH names instead of the defaults', async () => {
    await writeJson(join(idaasDir, 'client-config.json'), document('app_default'))
    const path = await writeJson(join(root, 'from-env.json'), document('app_env'))
    const config = await loadClientConfig({ env: { CLOUD_IDAAS_CONFIG_PATH: path }, homedir: home })
    expect(config.source).toBe(path)
    expect(config.clientId).toBe('app_env')
  })

  it('does not fall back to the defaults when CLOUD_IDAAS_CONFIG_PATH names a missing file', async () => {
    await writeJson(join(idaasDir, 'client-config.json'), document('app_default'))
    const missing = join(root, 'nowhere.json')
    const error = await refusal(
      loadClientConfig({ env: { CLOUD_IDAAS_CONFIG_PATH: missing }, homedir: home }),
    )
    expect(error.message).toContain(`tried ${missing} (from CLOUD_IDAAS_CONFIG_PATH)`)
  })

  it('ignores a blank CLOUD_IDAAS_CONFIG_PATH', async () => {
    await writeJson(join(idaasDir, 'client-config.json'), document('app_default'))
    const config = await loadClientConfig({ env: { CLOUD_IDAAS_CONFIG_PATH: '  ' }, homedir: home })
    expect(config.clientId).toBe('app_default')
  })

  it('reads an explicit path over CLOUD_IDAAS_CONFIG_PATH and the defaults', async () => {
    await writeJson(join(idaasDir, 'client-config.json'), document('app_default'))
    const fromEnv = await writeJson(join(root, 'from-env.json'), document('app_env'))
    const explicit = await writeJson(join(root, 'explicit.json'), document('app_explicit'))
    const config = await loadClientConfig({
      path: explicit,
      env: { CLOUD_IDAAS_CONFIG_PATH: fromEnv },
      homedir: home,
    })
    expect(config.source).toBe(explicit)
    expect(config.clientId).toBe('app_explicit')
  })

  it('expands ~/ and resolves a relative path from cwd', async () => {
    const inHome = await writeJson(join(home, 'mine.json'), document('app_home'))
    expect((await loadClientConfig({ path: '~/mine.json', env: {}, homedir: home })).source).toBe(inHome)
    const relative = await writeJson(join(root, 'relative.json'), document('app_relative'))
    const config = await loadClientConfig({ env: { CLOUD_IDAAS_CONFIG_PATH: 'relative.json' }, cwd: root })
    expect(config.source).toBe(relative)
  })

  it('reads snake_case keys from a real file', async () => {
    await writeFile(
      join(idaasDir, 'client-config.json'),
      JSON.stringify({
        idaas_instance_id: 'idaas_demo',
        client_id: 'app_snake',
        issuer: 'https://idaas.example.com/oauth2/',
        token_endpoint: 'https://idaas.example.com/oauth2/token',
        authn_configuration: {
          authn_method: 'CLIENT_SECRET_POST',
          client_secret_env_var_name: 'IDAAS_SECRET',
        },
        http_configuration: { connect_timeout: 2000, read_timeout: 60000 },
      }),
    )
    const config = await loadClientConfig({ env: {}, homedir: home })
    expect(config.issuer).toBe('https://idaas.example.com/oauth2')
    expect(config.authnConfiguration.clientSecretEnvVarName).toBe('IDAAS_SECRET')
    expect(config.httpConfiguration).toEqual({
      connectTimeout: 2000,
      readTimeout: 60000,
      unsafeIgnoreSslCert: false,
    })
  })
})

describe('loadClientConfig: failures', () => {
  it('names every path tried when no file exists', async () => {
    const error = await refusal(loadClientConfig({ env: {}, homedir: home }))
    expect(error.code).toBe('ERR_PAM_CONFIGURATION')
    expect(error.message).toBe(
      `No IDaaS client configuration file found; tried ${join(idaasDir, 'client-config.json')}, ` +
        `${join(idaasDir, 'client_config.json')} (from the default locations). ` +
        'Create the file, set CLOUD_IDAAS_CONFIG_PATH or pass a path.',
    )
  })

  it('names the explicit path when it does not exist', async () => {
    const missing = join(root, 'missing', 'config.json')
    const error = await refusal(loadClientConfig({ path: missing, env: {}, homedir: home }))
    expect(error.message).toContain(`tried ${missing} (from the path option)`)
  })

  it('names the file and the position of invalid JSON', async () => {
    const path = join(idaasDir, 'client-config.json')
    await writeFile(path, '{\n  "clientId": "app",\n  "scope": \'x\'\n}\n')
    const error = await refusal(loadClientConfig({ env: {}, homedir: home }))
    expect(error.message).toBe(
      `${path}: is not valid JSON at line 3, column 12: unexpected character where a value was expected`,
    )
  })

  it('names the file and the key for a wrong value', async () => {
    const path = await writeJson(join(idaasDir, 'client-config.json'), {
      ...document('app'),
      httpConfiguration: { readTimeout: 60001 },
    })
    const error = await refusal(loadClientConfig({ env: {}, homedir: home }))
    expect(error.message).toBe(
      `${path}: httpConfiguration.readTimeout must be an integer from 2000 to 60000 (milliseconds), got 60001`,
    )
    expect(error.field).toBe('httpConfiguration.readTimeout')
  })

  it('refuses a directory where the file should be', async () => {
    const path = join(idaasDir, 'client-config.json')
    await mkdir(path)
    const error = await refusal(loadClientConfig({ env: {}, homedir: home }))
    expect(error.message).toBe(`${path}: is a directory, not a configuration file`)
  })

  it('reports a file that cannot be read, with the reason', async () => {
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })
    const error = await refusal(
      loadClientConfig({ path: '/etc/idaas.json', env: {}, readFile: () => Promise.reject(denied) }),
    )
    expect(error.message).toBe('/etc/idaas.json: cannot be read (EACCES)')
    expect(error.cause).toBe(denied)
  })

  it('needs a home directory only for the default locations', async () => {
    const error = await refusal(loadClientConfig({ env: {}, homedir: '' }))
    expect(error.message).toContain('set CLOUD_IDAAS_CONFIG_PATH or pass a path')
    const path = await writeJson(join(root, 'cfg.json'), document('app'))
    expect((await loadClientConfig({ env: { CLOUD_IDAAS_CONFIG_PATH: path }, homedir: '' })).clientId).toBe(
      'app',
    )
  })
})
