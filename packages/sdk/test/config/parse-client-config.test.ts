import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parseClientConfig } from '../../src/config/parse-client-config.js'
import { ConfigurationError } from '../../src/errors.js'

const FILE = '/home/dev/.cloud_idaas/client-config.json'
const CANARY = 'sk-live-CANARY-7f3a9c'

/** The shape `writeDemoClientConfig` in packages/server/src/bootstrap.ts writes. */
const camel = {
  idaasInstanceId: 'idaas_demo',
  clientId: 'app_demo',
  issuer: 'http://127.0.0.1:8443/v2/idaas_demo/authorizationServer/default',
  tokenEndpoint: 'http://127.0.0.1:8443/v2/idaas_demo/authorizationServer/default/oauth2/token',
  scope: 'urn:cloud:idaas:pam|.all',
  developerApiEndpoint: 'http://127.0.0.1:8443',
  authnConfiguration: {
    identityType: 'CLIENT',
    authnMethod: 'CLIENT_SECRET_POST',
    clientSecretEnvVarName: 'STRONGROOM_DEMO_CLIENT_SECRET',
  },
  httpConfiguration: { connectTimeout: 5000, readTimeout: 10000 },
}

const snake = {
  idaas_instance_id: 'idaas_demo',
  client_id: 'app_demo',
  issuer: 'http://127.0.0.1:8443/v2/idaas_demo/authorizationServer/default',
  token_endpoint: 'http://127.0.0.1:8443/v2/idaas_demo/authorizationServer/default/oauth2/token',
  scope: 'urn:cloud:idaas:pam|.all',
  developer_api_endpoint: 'http://127.0.0.1:8443',
  authn_configuration: {
    identity_type: 'CLIENT',
    authn_method: 'CLIENT_SECRET_POST',
    client_secret_env_var_name: 'STRONGROOM_DEMO_CLIENT_SECRET',
  },
  http_configuration: { connect_timeout: 5000, read_timeout: 10000 },
}

const expected = {
  source: FILE,
  idaasInstanceId: 'idaas_demo',
  clientId: 'app_demo',
  issuer: 'http://127.0.0.1:8443/v2/idaas_demo/authorizationServer/default',
  tokenEndpoint: 'http://127.0.0.1:8443/v2/idaas_demo/authorizationServer/default/oauth2/token',
  scope: 'urn:cloud:idaas:pam|.all',
  developerApiEndpoint: 'http://127.0.0.1:8443',
  authnConfiguration: {
    identityType: 'CLIENT',
    authnMethod: 'CLIENT_SECRET_POST',
    clientSecretEnvVarName: 'STRONGROOM_DEMO_CLIENT_SECRET',
    humanAuthenticateClientId: 'iap_developer',
  },
  httpConfiguration: { connectTimeout: 5000, readTimeout: 10000, unsafeIgnoreSslCert: false },
}

const parse = (document: unknown): ReturnType<typeof parseClientConfig> =>
  parseClientConfig(JSON.stringify(document), FILE)

/** Parses, expects a ConfigurationError, and returns its message. */
function refusal(document: unknown): string {
  try {
    parse(document)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).code).toBe('ERR_PAM_CONFIGURATION')
    return (error as ConfigurationError).message
  }
  throw new Error('expected a ConfigurationError')
}

const withAuthn = (authn: Record<string, unknown>) => ({ ...camel, authnConfiguration: authn })
const withHttp = (http: unknown) => ({ ...camel, httpConfiguration: http })

describe('parseClientConfig: key spellings', () => {
  it('reads the camelCase file strongroom writes', () => {
    expect(parse(camel)).toEqual(expected)
  })

  it('reads the same file written in snake_case at every level', () => {
    expect(parse(snake)).toEqual(expected)
  })

  it('accepts the spellings the official SDKs fold to the same key', () => {
    const config = parse({
      ...camel,
      httpConfiguration: { unsafeIgnoreSSLCert: true },
      authnConfiguration: {
        authnMethod: 'PCA',
        application_federated_credential_name: 'pca-cred',
        clientX509Certificate: 'cert-pem',
        x509_cert_chains: 'chain-pem',
        PrivateKeyEnvVarName: 'APP_PRIVATE_KEY',
      },
    })
    expect(config.httpConfiguration.unsafeIgnoreSslCert).toBe(true)
    expect(config.authnConfiguration).toMatchObject({
      authnMethod: 'PCA',
      applicationFederatedCredentialName: 'pca-cred',
      clientX509Certificate: 'cert-pem',
      x509CertChains: 'chain-pem',
      privateKeyEnvVarName: 'APP_PRIVATE_KEY',
    })
  })

  it('accepts the legacy authenticationSubject for identityType', () => {
    const config = parse({
      ...camel,
      deviceAuthorizationEndpoint: 'idaas.example.com/device',
      authnConfiguration: { authenticationSubject: 'HUMAN' },
    })
    expect(config.authnConfiguration.identityType).toBe('HUMAN')
  })

  it('refuses one key written twice in two spellings, naming both', () => {
    expect(refusal({ ...camel, client_id: 'app_other' })).toBe(
      `${FILE}: clientId and client_id are the same key written twice; keep one`,
    )
  })

  it('ignores unknown keys at every level', () => {
    const config = parse({
      ...camel,
      futureFeature: { anything: [1, 2] },
      authnConfiguration: { ...camel.authnConfiguration, futureKnob: 3 },
      httpConfiguration: { ...camel.httpConfiguration, keepAlive: true },
    })
    expect(config).toEqual(expected)
  })

  it('treats null and blank strings as absent', () => {
    const config = parse({ ...camel, scope: '  ', openApiEndpoint: null, httpConfiguration: null })
    expect(config.scope).toBe('urn:cloud:idaas:pam|.all')
    expect(config).not.toHaveProperty('openApiEndpoint')
    expect(config.httpConfiguration).toEqual(expected.httpConfiguration)
  })
})

describe('parseClientConfig: defaults', () => {
  it('fills in the official defaults', () => {
    const { scope: _scope, httpConfiguration: _http, ...rest } = camel
    const config = parse({ ...rest, authnConfiguration: { clientSecretEnvVarName: 'X' } })
    expect(config.scope).toBe('urn:cloud:idaas:pam|.all')
    expect(config.httpConfiguration).toEqual({
      connectTimeout: 5000,
      readTimeout: 10000,
      unsafeIgnoreSslCert: false,
    })
    expect(config.authnConfiguration).toEqual({
      identityType: 'CLIENT',
      authnMethod: 'NONE',
      clientSecretEnvVarName: 'X',
      humanAuthenticateClientId: 'iap_developer',
    })
  })

  it('returns a frozen object', () => {
    const config = parse(camel)
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.authnConfiguration)).toBe(true)
    expect(Object.isFrozen(config.httpConfiguration)).toBe(true)
  })

  it('accepts a byte order mark', () => {
    expect(parseClientConfig(`\uFEFF${JSON.stringify(camel)}`, FILE)).toEqual(expected)
  })
})

describe('parseClientConfig: endpoints', () => {
  it('adds https:// where no scheme is written and removes trailing slashes', () => {
    const config = parse({
      ...camel,
      issuer: 'idaas.example.com/api/v2/iauths_system/oauth2/',
      tokenEndpoint: 'https://idaas.example.com/api/v2/iauths_system/oauth2/token//',
      developerApiEndpoint: 'eiam-developerapi.cn-hangzhou.aliyuncs.com',
      openApiEndpoint: 'localhost:8080/',
    })
    expect(config.issuer).toBe('https://idaas.example.com/api/v2/iauths_system/oauth2')
    expect(config.tokenEndpoint).toBe('https://idaas.example.com/api/v2/iauths_system/oauth2/token')
    expect(config.developerApiEndpoint).toBe('https://eiam-developerapi.cn-hangzhou.aliyuncs.com')
    expect(config.openApiEndpoint).toBe('https://localhost:8080')
  })

  it('keeps an explicit http:// (a local strongroom server serves plain HTTP)', () => {
    expect(parse({ ...camel, developerApiEndpoint: 'http://127.0.0.1:8443/' }).developerApiEndpoint).toBe(
      'http://127.0.0.1:8443',
    )
  })

  it.each([
    ['ftp://idaas.example.com', 'must be an http or https URL'],
    ['https://idaas.example.com/x?y=1', 'must not contain a query or fragment'],
    ['https://idaas.example.com/#top', 'must not contain a query or fragment'],
    ['https://user:pw@idaas.example.com', 'must not contain a user name or password'],
    ['https://exa mple.com', 'must be a valid URL'],
    ['https://', 'must be a valid URL'],
  ])('refuses %s', (url, rule) => {
    expect(refusal({ ...camel, developerApiEndpoint: url })).toBe(`${FILE}: developerApiEndpoint ${rule}`)
  })

  it('requires deviceAuthorizationEndpoint for a HUMAN identity', () => {
    expect(refusal(withAuthn({ identityType: 'HUMAN' }))).toBe(
      `${FILE}: deviceAuthorizationEndpoint is required when identityType is HUMAN`,
    )
  })
})

describe('parseClientConfig: httpConfiguration timeouts', () => {
  it.each([2000, 60000])('accepts %i ms', (ms) => {
    const config = parse(withHttp({ connectTimeout: ms, readTimeout: ms }))
    expect(config.httpConfiguration.connectTimeout).toBe(ms)
    expect(config.httpConfiguration.readTimeout).toBe(ms)
  })

  it.each([1999, 60001])('refuses %i ms, naming the key as written', (ms) => {
    expect(refusal(withHttp({ readTimeout: ms }))).toBe(
      `${FILE}: httpConfiguration.readTimeout must be an integer from 2000 to 60000 (milliseconds), got ${ms}`,
    )
    expect(refusal({ ...snake, http_configuration: { connect_timeout: ms } })).toBe(
      `${FILE}: http_configuration.connect_timeout must be an integer from 2000 to 60000 (milliseconds), got ${ms}`,
    )
  })

  it('refuses fractions and strings', () => {
    expect(refusal(withHttp({ connectTimeout: 2500.5 }))).toContain(
      'httpConfiguration.connectTimeout must be an integer',
    )
    expect(refusal(withHttp({ connectTimeout: '5000' }))).toBe(
      `${FILE}: httpConfiguration.connectTimeout must be an integer (milliseconds), not a string`,
    )
  })
})

describe('parseClientConfig: wrong types and missing keys', () => {
  it.each([
    [{ ...camel, clientId: 42 }, 'clientId must be a string, not a number'],
    [{ ...camel, issuer: ['a'] }, 'issuer must be a string, not an array'],
    [
      { ...camel, authnConfiguration: 'CLIENT_SECRET_POST' },
      'authnConfiguration must be a JSON object, not a string',
    ],
    [withHttp([5000]), 'httpConfiguration must be a JSON object, not an array'],
    [
      withHttp({ unsafeIgnoreSslCert: 'true' }),
      'httpConfiguration.unsafeIgnoreSslCert must be `true` or `false`, not a string',
    ],
    [withAuthn({ authnMethod: 7 }), 'authnConfiguration.authnMethod must be one of NONE, CLIENT_SECRET_POST'],
    [
      withAuthn({ identityType: 'ROBOT' }),
      'authnConfiguration.identityType must be one of CLIENT, HUMAN, got "ROBOT"',
    ],
    [withAuthn({ authnMethod: 'client_secret_post' }), 'got "client_secret_post"'],
    [
      withAuthn({
        authnMethod: 'OIDC',
        applicationFederatedCredentialName: 'k8s',
        clientDeployEnvironment: 'MARS',
      }),
      'authnConfiguration.clientDeployEnvironment must be one of COMMON',
    ],
  ])('refuses %j', (document, message) => {
    expect(refusal(document)).toContain(message)
  })

  it('refuses a document that is not an object', () => {
    expect(refusal([camel])).toBe(`${FILE}: (top level) must be a JSON object, not an array`)
  })

  it.each(['idaasInstanceId', 'clientId', 'issuer', 'tokenEndpoint', 'authnConfiguration'])(
    'requires %s',
    (key) => {
      const document: Record<string, unknown> = { ...camel }
      delete document[key]
      expect(refusal(document)).toBe(`${FILE}: ${key} is required`)
    },
  )

  it.each([
    ['CLIENT_SECRET_POST', {}, 'clientSecretEnvVarName'],
    ['CLIENT_SECRET_BASIC', {}, 'clientSecretEnvVarName'],
    ['CLIENT_SECRET_JWT', {}, 'clientSecretEnvVarName'],
    ['PRIVATE_KEY_JWT', {}, 'privateKeyEnvVarName'],
    ['OIDC', { clientDeployEnvironment: 'KUBERNETES' }, 'applicationFederatedCredentialName'],
    ['PKCS7', { applicationFederatedCredentialName: 'ecs' }, 'clientDeployEnvironment'],
    ['PLUGIN', {}, 'pluginName'],
  ])('requires what %s needs', (method, rest, key) => {
    expect(refusal(withAuthn({ authnMethod: method, ...rest }))).toBe(
      `${FILE}: authnConfiguration.${key} is required when authnMethod is ${method}`,
    )
  })

  it('names a missing key in the style of the object around it', () => {
    expect(refusal({ ...snake, authn_configuration: { authn_method: 'PRIVATE_KEY_JWT' } })).toBe(
      `${FILE}: authn_configuration.private_key_env_var_name is required when authnMethod is PRIVATE_KEY_JWT`,
    )
  })

  it('reads the OIDC token file settings', () => {
    const config = parse(
      withAuthn({
        authnMethod: 'OIDC',
        applicationFederatedCredentialName: 'k8s',
        clientDeployEnvironment: 'KUBERNETES',
        oidcTokenFilePath: '/var/run/secrets/tokens/idaas',
        oidcTokenFilePathEnvVarName: 'IDAAS_OIDC_TOKEN_FILE',
      }),
    )
    expect(config.authnConfiguration).toMatchObject({
      oidcTokenFilePath: '/var/run/secrets/tokens/idaas',
      oidcTokenFilePathEnvVarName: 'IDAAS_OIDC_TOKEN_FILE',
      clientDeployEnvironment: 'KUBERNETES',
    })
  })
})

describe('parseClientConfig: no secret in messages', () => {
  it('refuses a secret pasted where an environment variable name belongs, without repeating it', () => {
    const message = refusal(withAuthn({ authnMethod: 'CLIENT_SECRET_POST', clientSecretEnvVarName: CANARY }))
    expect(message).toBe(
      `${FILE}: authnConfiguration.clientSecretEnvVarName must be the name of an environment variable (letters, digits and _), not a value`,
    )
    expect(message).not.toContain('CANARY')
  })

  it('does not repeat the value of a key that sounds secret', () => {
    for (const document of [
      { ...camel, tokenEndpoint: `ftp://${CANARY}` },
      withAuthn({ authnMethod: 'PRIVATE_KEY_JWT', privateKeyEnvVarName: { value: CANARY } }),
      withAuthn({ authnMethod: 'CLIENT_SECRET_BASIC', clientSecretEnvVarName: `export X=${CANARY}` }),
    ]) {
      let message = ''
      try {
        parse(document)
      } catch (error) {
        message = `${(error as Error).message} ${JSON.stringify(error)} ${inspect(error)}`
      }
      expect(message).toContain(FILE)
      expect(message).not.toContain('CANARY')
    }
  })

  it('reports invalid JSON by line and column without quoting the text', () => {
    const text = `{\n  "clientSecret": "${CANARY}"\n  "clientId": "x"\n}`
    let error: unknown
    try {
      parseClientConfig(text, FILE)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigurationError)
    const message = (error as Error).message
    expect(message).toBe(
      `${FILE}: is not valid JSON at line 3, column 3: expected ',' or '}' after a property value`,
    )
    expect((error as Error).cause).toBeUndefined()
  })

  it('reports an unexpected token that Node would quote, by position only', () => {
    const message = (() => {
      try {
        parseClientConfig(`{"clientId": ${CANARY}}`, FILE)
      } catch (error) {
        return (error as Error).message
      }
      return ''
    })()
    expect(message).toBe(
      `${FILE}: is not valid JSON at line 1, column 14: unexpected character where a value was expected`,
    )
  })
})
