import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { selfSignedCertificate } from '../../../../test/support/tls.js'
import { loadConfig, parseListen } from '../../src/config/config.js'
import { loadRootKey, rootKeyId } from '../../src/crypto/root-key.js'
import { ConfigError } from '../../src/errors.js'
import { newId } from '../../src/ids.js'

const cwd = '/srv/app'

describe('configuration', () => {
  it('defaults to the embedded SQLite under ./.strongroom on 127.0.0.1:8080', () => {
    const c = loadConfig({}, {}, cwd)
    expect(c).toMatchObject({
      db: 'sqlite:/srv/app/.strongroom/strongroom.db',
      dataDir: '/srv/app/.strongroom',
      listen: { host: '127.0.0.1', port: 8080 },
      rootKey: { kind: 'file', path: '/srv/app/.strongroom/root.key', create: true },
      tls: null,
      logLevel: 'info',
      metricsListen: null,
    })
  })

  it('opens the metrics listener only when --metrics-listen or STRONGROOM_METRICS_LISTEN says where', () => {
    expect(loadConfig({ metricsListen: '10.0.0.5:9464' }, {}, cwd).metricsListen).toEqual({
      host: '10.0.0.5',
      port: 9464,
    })
    expect(loadConfig({}, { STRONGROOM_METRICS_LISTEN: '[::1]:9464' }, cwd).metricsListen).toEqual({
      host: '::1',
      port: 9464,
    })
    expect(() => loadConfig({}, { STRONGROOM_METRICS_LISTEN: '9464' }, cwd)).toThrow(
      /listen address "9464" from STRONGROOM_METRICS_LISTEN must be HOST:PORT/,
    )
  })

  it('takes flags over environment over the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-config-'))
    const file = join(dir, 'strongroom.json')
    writeFileSync(file, JSON.stringify({ listen: '0.0.0.0:9000', logLevel: 'debug', db: 'sqlite:file.db' }))
    const env = { STRONGROOM_CONFIG: file, STRONGROOM_LISTEN: '127.0.0.1:9001', STRONGROOM_ROOT_KEY: 'x' }
    expect(loadConfig({}, env, cwd)).toMatchObject({
      listen: { port: 9001 },
      logLevel: 'debug',
      db: 'sqlite:/srv/app/file.db',
      dataDir: null,
      rootKey: { kind: 'env' },
    })
    expect(loadConfig({ listen: '[::1]:9002' }, env, cwd).listen).toEqual({ host: '::1', port: 9002 })
    expect(loadConfig({ rootKeyFile: 'k' }, env, cwd).rootKey).toEqual({
      kind: 'file',
      path: '/srv/app/k',
      create: false,
    })
  })

  it('names the setting and its source in every error', () => {
    expect(() => loadConfig({ listen: 'nope' }, {}, cwd)).toThrow(
      /listen address "nope" from --listen must be HOST:PORT/,
    )
    expect(() => loadConfig({}, { STRONGROOM_LISTEN: 'h:99999' }, cwd)).toThrow(/from STRONGROOM_LISTEN/)
    expect(() => loadConfig({ db: 'mysql://x' }, {}, cwd)).toThrow(/must be sqlite:PATH or postgres/)
    expect(() => loadConfig({ db: 'postgres://u@h/db' }, {}, cwd)).toThrow(
      /no root key: set STRONGROOM_ROOT_KEY/,
    )
    expect(() => loadConfig({ tlsCert: 'c' }, {}, cwd)).toThrow(/go together/)
    expect(() => loadConfig({ logLevel: 'loud' }, {}, cwd)).toThrow(/must be one of/)
    const dir = mkdtempSync(join(tmpdir(), 'sr-config-'))
    writeFileSync(join(dir, 'c.json'), '{"port": 1}')
    expect(() => loadConfig({ config: join(dir, 'c.json') }, {}, cwd)).toThrow(/unknown setting "port"/)
    expect(() => loadConfig({ config: join(dir, 'missing.json') }, {}, cwd)).toThrow(ConfigError)
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 })
  })

  // A reviewer's findings: each was taken as given, or silently read another way.
  it('refuses a public URL with user-info, an empty query or fragment, or spaces, and normalises the rest', () => {
    const env = {}
    for (const bad of [
      'https://admin:Hunter2pw@pam.example.com',
      'https://pam.example.com/?',
      'https://pam.example.com/#',
      ' https://pam.example.com',
      'https://pam.example.com\t',
      'ftp://pam.example.com',
    ]) {
      expect(() => loadConfig({ publicUrl: bad }, env, cwd), bad).toThrow(
        /public URL from --public-url must be an http\(s\) URL without user-info, query or fragment/,
      )
    }
    expect(() => loadConfig({ publicUrl: 'https://admin:Hunter2pw@pam.example.com' }, env, cwd)).not.toThrow(
      /Hunter2pw/,
    )
    expect(loadConfig({ publicUrl: 'HTTPS://PAM.Example.com/pam/' }, env, cwd).publicUrl).toBe(
      'https://pam.example.com/pam',
    )
  })

  it('refuses an empty flag, a mistyped database URL without echoing it, and a trustProxy that is not a boolean', () => {
    expect(() => loadConfig({ dataDir: '' }, {}, cwd)).toThrow(/--data-dir is empty/)
    let message = ''
    try {
      loadConfig({ db: 'mysql://u:S3cretPw@h/x' }, {}, cwd)
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/database URL from --db must be sqlite:PATH or postgres/)
    expect(message).not.toContain('S3cretPw')
    expect(() => loadConfig({ db: 'POSTGRES://u@h/db' }, {}, cwd)).toThrow(/no root key/)
    expect(() => loadConfig({}, { STRONGROOM_TRUST_PROXY: 'yes' }, cwd)).toThrow(
      /STRONGROOM_TRUST_PROXY must be true or false/,
    )
    expect(loadConfig({}, { STRONGROOM_TRUST_PROXY: 'true' }, cwd).trustProxy).toBe(true)
    const dir = mkdtempSync(join(tmpdir(), 'sr-config-'))
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return { config: join(dir, name) }
    }
    expect(() =>
      loadConfig(file('dup.json', '{"listen":"127.0.0.1:1","listen":"0.0.0.0:1"}'), {}, cwd),
    ).toThrow(/"listen" is given twice/)
    expect(() => loadConfig(file('arr.json', '{"logLevel":["debug"]}'), {}, cwd)).toThrow(
      /\(logLevel\) must be a non-empty string or a number/,
    )
    expect(() => loadConfig(file('null.json', '{"tlsCert":null}'), {}, cwd)).toThrow(/\(tlsCert\) must be/)
    const shared = file('shared.json', '{"listen":"127.0.0.1:1"}')
    chmodSync(shared.config, 0o666)
    expect(() => loadConfig(shared, {}, cwd)).toThrow(/config file .* is writable by others \(mode 666\)/)
    execFileSync('mkfifo', [join(dir, 'fifo.json')])
    expect(() => loadConfig({ config: join(dir, 'fifo.json') }, {}, cwd)).toThrow(/is not a regular file/)
    expect(() => loadConfig(file('tp.json', '{"trustProxy":"yes"}'), {}, cwd)).toThrow(
      /\(trustProxy\) must be true or false/,
    )
  })

  // A mismatched pair was found only after migrations and the first start's bootstrap, in
  // OpenSSL's words; a world-readable key was taken as it was.
  it('reads and tries the TLS files together, naming the settings, and refuses a key anyone may read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-tls-'))
    mkdirSync(join(dir, 'a'))
    mkdirSync(join(dir, 'b'))
    const a = selfSignedCertificate(join(dir, 'a'))
    const b = selfSignedCertificate(join(dir, 'b'))
    chmodSync(a.key, 0o600)
    chmodSync(b.key, 0o600)
    expect(loadConfig({ tlsCert: a.cert, tlsKey: a.key }, {}, cwd).tls).toEqual({
      certFile: a.cert,
      keyFile: a.key,
    })
    expect(() => loadConfig({ tlsCert: a.cert, tlsKey: b.key }, {}, cwd)).toThrow(
      /TLS files .* \(--tls-cert\) and .* \(--tls-key\) do not go together: the key is not the certificate's/,
    )
    expect(() => loadConfig({ tlsCert: a.key, tlsKey: a.key }, {}, cwd)).toThrow(/do not go together/)
    expect(() => loadConfig({ tlsCert: a.cert, tlsKey: join(dir, 'missing.pem') }, {}, cwd)).toThrow(
      /cannot read the TLS file .*missing\.pem from --tls-key/,
    )
    chmodSync(a.key, 0o644)
    expect(() => loadConfig({ tlsCert: a.cert, tlsKey: a.key }, {}, cwd)).toThrow(/readable by everyone/)
  })

  it('takes the PostgreSQL pool size and timeouts from flags, the environment or the config file', () => {
    const env = { STRONGROOM_ROOT_KEY: 'k', STRONGROOM_DB: 'postgres://u@h/db' }
    expect(loadConfig({}, env, cwd).postgres).toEqual({
      poolSize: 10,
      statementTimeoutMs: 30_000,
      connectTimeoutMs: 5_000,
    })
    const dir = mkdtempSync(join(tmpdir(), 'sr-config-'))
    writeFileSync(join(dir, 'c.json'), '{"dbPoolSize": 25, "dbConnectTimeoutMs": 2500}')
    expect(
      loadConfig(
        { config: join(dir, 'c.json'), dbStatementTimeoutMs: '8000' },
        { ...env, STRONGROOM_DB_POOL_SIZE: '40' },
        cwd,
      ).postgres,
    ).toEqual({ poolSize: 40, statementTimeoutMs: 8_000, connectTimeoutMs: 2_500 })
    expect(() => loadConfig({ dbPoolSize: '0' }, env, cwd)).toThrow(
      /db-pool-size "0" from --db-pool-size must be a whole number from 1 to 1000/,
    )
    expect(() => loadConfig({}, { ...env, STRONGROOM_DB_STATEMENT_TIMEOUT_MS: '1s' }, cwd)).toThrow(
      /from STRONGROOM_DB_STATEMENT_TIMEOUT_MS/,
    )
  })
})

describe('workers', () => {
  it('is one process unless --workers, STRONGROOM_WORKERS or the config file says more; auto is one per core', () => {
    expect(loadConfig({}, {}, cwd).workers).toBe(1)
    expect(loadConfig({ workers: '4' }, {}, cwd).workers).toBe(4)
    expect(loadConfig({}, { STRONGROOM_WORKERS: '3' }, cwd).workers).toBe(3)
    const dir = mkdtempSync(join(tmpdir(), 'sr-config-'))
    writeFileSync(join(dir, 'c.json'), '{"workers": 2}')
    expect(loadConfig({ config: join(dir, 'c.json') }, {}, cwd).workers).toBe(2)
    expect(loadConfig({ workers: 'auto' }, {}, cwd).workers).toBe(Math.min(availableParallelism(), 64))
  })

  it('refuses a count it cannot run, and an in-memory database the workers could not share', () => {
    expect(() => loadConfig({ workers: '' }, {}, cwd)).toThrow(/--workers is empty/)
    for (const value of ['0', '65', '-1', '1.5', 'two']) {
      expect(() => loadConfig({ workers: value }, {}, cwd)).toThrow(
        new RegExp(
          `workers "${value.replace('.', '\\.')}" from --workers must be a whole number from 1 to 64, or auto`,
        ),
      )
    }
    expect(() =>
      loadConfig({ db: 'sqlite::memory:' }, { STRONGROOM_ROOT_KEY: 'k', STRONGROOM_WORKERS: '2' }, cwd),
    ).toThrow(/workers 2 from STRONGROOM_WORKERS needs a database the processes can share/)
    expect(
      loadConfig({ db: 'sqlite::memory:', workers: '1' }, { STRONGROOM_ROOT_KEY: 'k' }, cwd).workers,
    ).toBe(1)
  })

  it('gives a worker a minute to start unless STRONGROOM_WORKER_START_TIMEOUT_MS says otherwise', () => {
    expect(loadConfig({}, {}, cwd).workerStartTimeoutMs).toBe(60_000)
    expect(loadConfig({}, { STRONGROOM_WORKER_START_TIMEOUT_MS: '5000' }, cwd).workerStartTimeoutMs).toBe(
      5000,
    )
    for (const value of ['999', '3600001', '1e4', 'soon']) {
      expect(() => loadConfig({}, { STRONGROOM_WORKER_START_TIMEOUT_MS: value }, cwd)).toThrow(
        `worker-start-timeout-ms "${value}" from STRONGROOM_WORKER_START_TIMEOUT_MS must be a whole number from 1000 to 3600000`,
      )
    }
  })

  it('kills a worker stuck for 20 s unless STRONGROOM_WORKER_WATCHDOG_MS says otherwise', () => {
    expect(loadConfig({}, {}, cwd).workerWatchdogMs).toBe(20_000)
    expect(loadConfig({}, { STRONGROOM_WORKER_WATCHDOG_MS: '2000' }, cwd).workerWatchdogMs).toBe(2000)
    for (const value of ['999', '3600001', '2e4', 'never']) {
      expect(() => loadConfig({}, { STRONGROOM_WORKER_WATCHDOG_MS: value }, cwd)).toThrow(
        `worker-watchdog-ms "${value}" from STRONGROOM_WORKER_WATCHDOG_MS must be a whole number from 1000 to 3600000`,
      )
    }
  })
})

describe('root key', () => {
  it('is created 0600 on first use and read back the same', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sr-key-')), 'root.key')
    const key = loadRootKey({ kind: 'file', path, create: true })
    expect(key).toHaveLength(32)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readFileSync(path, 'utf8').trim()).toBe(key.toString('base64'))
    expect(loadRootKey({ kind: 'file', path, create: false }).equals(key)).toBe(true)
    expect(rootKeyId(key)).toMatch(/^[0-9a-f]{16}$/)
  })

  // A reviewer's cases: a FIFO hung start-up, a link to /dev/zero got 'run: chmod 600', mode 0602
  // was 'readable by others', and a dangling link gave a bare EEXIST.
  it('is refused, naming the rule, when not a regular file, writable by others, or behind a dangling link', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-key-'))
    const fifo = join(dir, 'fifo.key')
    execFileSync('mkfifo', ['-m', '600', fifo])
    expect(() => loadRootKey({ kind: 'file', path: fifo, create: false })).toThrow(/is not a regular file/)
    const zero = join(dir, 'zero.key')
    symlinkSync('/dev/zero', zero)
    expect(() => loadRootKey({ kind: 'file', path: zero, create: false })).toThrow(/is not a regular file/)
    const loose = join(dir, 'loose.key')
    loadRootKey({ kind: 'file', path: loose, create: true })
    chmodSync(loose, 0o602)
    expect(() => loadRootKey({ kind: 'file', path: loose, create: false })).toThrow(
      /is writable by others \(mode 602\)/,
    )
    const dangling = join(dir, 'dangling.key')
    symlinkSync(join(dir, 'missing', 'root.key'), dangling)
    expect(() => loadRootKey({ kind: 'file', path: dangling, create: true })).toThrow(
      /cannot create root key file .*a link or file is in the way/,
    )
    // A link to a private key file is fine (a Kubernetes secret's is one).
    const linked = join(dir, 'linked.key')
    chmodSync(loose, 0o600)
    symlinkSync(loose, linked)
    expect(loadRootKey({ kind: 'file', path: linked, create: false })).toHaveLength(32)
  })

  it('is refused when readable by others, missing, or not 32 bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-key-'))
    const path = join(dir, 'root.key')
    loadRootKey({ kind: 'file', path, create: true })
    chmodSync(path, 0o644)
    expect(() => loadRootKey({ kind: 'file', path, create: false })).toThrow(/readable by others.*chmod 600/)
    expect(() => loadRootKey({ kind: 'file', path: join(dir, 'nope'), create: false })).toThrow(
      /cannot read root key file/,
    )
    expect(() => loadRootKey({ kind: 'env', base64: 'c2hvcnQ=' })).toThrow(/must be 32 bytes/)
  })
})

describe('ids', () => {
  it('are prefixed, 26 lowercase base32 characters, and sort by time', () => {
    const a = newId('cred', 1_700_000_000_000)
    const b = newId('cred', 1_700_000_000_001)
    expect(a).toMatch(/^cred_[0-9a-z]{26}$/)
    expect(a < b).toBe(true)
    expect(newId('cred', 5)).not.toBe(newId('cred', 5))
  })

  it('sort in creation order within one millisecond, and when the clock goes back', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => newId('app', 1_800_000_000_000 - (i % 3)))
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.every((id) => /^app_[0-9a-z]{26}$/.test(id))).toBe(true)
  })
})
