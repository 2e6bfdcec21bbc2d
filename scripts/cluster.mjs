#!/usr/bin/env node
// `npm run cluster`: several strongroom nodes on one PostgreSQL database, on this machine, to try
// what a cluster does. Starts a throwaway PostgreSQL server (initdb into a temporary folder, as
// user `postgres` when run as root: PostgreSQL refuses to run as root), then three nodes on three
// ports, sharing the database and one root key, and a small round-robin load balancer in front of
// them whose address is every node's public URL (the issuer of the tokens they sign, so a token
// from one node works on all). The first node bootstraps the database (the default instance, the
// admin token and the demo workload); the others find it done. Prints how to talk to each node and
// stops everything, removing the folder, on Ctrl-C (or SIGTERM).
//
//   npm run cluster                       # load balancer on 127.0.0.1:8090, nodes on :8091–:8093
//   npm run cluster -- --base-port 9000   # 9000, and nodes on 9001–9003
//   npm run cluster -- --base-port 0      # any free ports
//   npm run cluster -- --nodes 5
//   npm run cluster -- --no-build         # skip the install check and the build (tests)
//
// Each node logs to NODE_DIR/server.log; PostgreSQL to BASE/postgres.log.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { chmod, mkdtemp, open } from 'node:fs/promises'
import { request as httpRequest, createServer as httpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findPostgres, runAsServerUser, runningAsRoot, SERVER_USER } from './postgres-programs.mjs'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const cliBin = join(root, 'packages', 'cli', 'dist', 'bin.js')
const READY_TIMEOUT_MS = 30_000

function usage(message) {
  if (message) console.error(`npm run cluster: ${message}`)
  console.error('usage: npm run cluster [-- --nodes N] [--base-port PORT (0: any free ports)] [--no-build]')
  process.exit(2)
}

function parseArgs(argv) {
  const options = { nodes: 3, basePort: 8090, build: true }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--no-build') {
      options.build = false
      continue
    }
    const [name, inline] = argv[i].split('=', 2)
    const value = inline ?? argv[++i]
    const number = Number(value)
    if (name === '--nodes' && Number.isInteger(number) && number >= 1 && number <= 9) options.nodes = number
    else if (name === '--base-port' && Number.isInteger(number) && number >= 0 && number < 65_520)
      options.basePort = number
    else usage(`unknown or invalid option ${argv[i]}`)
  }
  return options
}

const options = parseArgs(process.argv.slice(2))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const shown = (path) => {
  const rel = relative(process.cwd(), path)
  return rel.startsWith('..') ? path : rel
}

function step(args, what) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error(`npm run cluster: ${what} failed (exit ${result.status ?? result.signal})`)
    process.exit(result.status ?? 1)
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

async function isReady(url) {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })
    await response.body?.cancel()
    return response.status === 200
  } catch {
    return false
  }
}

/**
 * A small HTTP load balancer on 127.0.0.1:`port`: each request goes to the next node whose
 * /readyz answered 200 at the last check (every second), round robin, or to the next one when a
 * node refuses the connection, as a production load balancer would. It sets X-Forwarded-For.
 */
function startBalancer(port) {
  let next = 0
  const server = httpServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const ready = nodes.filter((node) => node.ready)
      const pool = ready.length > 0 ? ready : nodes.filter((node) => node.url !== null)
      const start = next++
      const attempt = (k) => {
        if (k >= pool.length) {
          res.writeHead(502, { 'content-type': 'application/json', 'retry-after': '1' })
          res.end(JSON.stringify({ error: 'no node answered' }))
          return
        }
        const node = pool[(start + k) % pool.length]
        const forwarded = httpRequest(
          new URL(req.url ?? '/', node.url),
          {
            method: req.method,
            headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers)
            answer.pipe(res)
          },
        )
        forwarded.on('error', (error) => {
          // Only a refused connection is certain not to have reached the node: try the next one.
          if (error.code === 'ECONNREFUSED' && !res.headersSent) attempt(k + 1)
          else res.destroy()
        })
        forwarded.end(body)
      }
      attempt(0)
    })
  })
  const health = setInterval(() => {
    for (const node of nodes) {
      if (node.url === null || stopping) continue
      isReady(node.url).then((ready) => {
        node.ready = ready
      })
    }
  }, 1_000)
  health.unref()
  server.on('close', () => clearInterval(health))
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

// ---- start ---------------------------------------------------------------------------------

const postgres = findPostgres()
if (!postgres) {
  console.error(
    'npm run cluster: PostgreSQL is not installed (initdb and pg_ctl were found neither on PATH nor under ' +
      '/usr/lib/postgresql/*/bin). Install it, e.g. `apt-get install postgresql`, and run this again.',
  )
  process.exit(1)
}
if (options.basePort !== 0) {
  for (let n = 0; n <= options.nodes; n++) {
    if (!(await portFree(options.basePort + n))) {
      usage(
        `port ${options.basePort + n} is taken: give another --base-port, or --base-port 0 for any free ports`,
      )
    }
  }
}

if (options.build) {
  step([join(root, 'scripts/ensure-deps.mjs')], 'installing dependencies')
  step([join(root, 'node_modules/typescript/bin/tsc'), '-b'], 'building')
}

const base = await mkdtemp(join(tmpdir(), 'strongroom-cluster-'))
const pgData = join(base, 'postgres')
const pgSocket = join(base, 'sock')
const pgLog = join(base, 'postgres.log')
mkdirSync(pgSocket, { mode: 0o700 })
if (runningAsRoot) {
  // PostgreSQL runs as `postgres`: it creates its data folder and log here, and its socket there.
  await chmod(base, 0o755)
  spawnSync('chown', [`${SERVER_USER}:`, base, pgSocket])
}

const nodes = []
let pgStarted = false
let stopping = null
let balancer = null

/** Stops the nodes (SIGTERM, then SIGKILL after 10 s), then PostgreSQL, then removes the folder. */
function stopAll(code = 0) {
  stopping ??= (async () => {
    balancer?.close()
    balancer?.closeAllConnections()
    await Promise.all(
      nodes.map(async (node) => {
        if (node.child.exitCode !== null || node.child.signalCode !== null) return
        node.child.kill('SIGTERM')
        const exited = await Promise.race([node.exited.then(() => true), sleep(10_000).then(() => false)])
        if (!exited) {
          node.child.kill('SIGKILL')
          await node.exited
        }
      }),
    )
    if (pgStarted)
      await runAsServerUser(postgres.pgCtl, ['-D', pgData, '-m', 'fast', '-w', 'stop']).catch(() => {})
    rmSync(base, { recursive: true, force: true })
    console.log('\nstopped every node and PostgreSQL, and removed', base)
    process.exit(code)
  })()
  return stopping
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stopAll(0))

try {
  await runAsServerUser(postgres.initdb, [
    '-D',
    pgData,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
  ])
  const pgPort = await freePort()
  pgStarted = true
  await runAsServerUser(postgres.pgCtl, [
    '-D',
    pgData,
    '-l',
    pgLog,
    '-o',
    `-p ${pgPort} -k ${pgSocket} -c listen_addresses=127.0.0.1`,
    '-w',
    'start',
  ])
  const { default: pg } = await import('pg')
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${pgPort}/postgres` })
  await admin.connect()
  await admin.query('create database strongroom')
  await admin.end()
  const db = `postgres://postgres@127.0.0.1:${pgPort}/strongroom`
  // One root key for every node: in production each node reads the same key from its own file.
  const rootKey = randomBytes(32).toString('base64')
  balancer = await startBalancer(options.basePort)
  const publicUrl = `http://127.0.0.1:${balancer.address().port}`

  const startNode = async (n) => {
    const dataDir = join(base, `node${n}`)
    mkdirSync(dataDir, { mode: 0o700 })
    const port = options.basePort === 0 ? 0 : options.basePort + n
    const log = await open(join(dataDir, 'server.log'), 'a', 0o600)
    const child = spawn(
      process.execPath,
      [
        cliBin,
        'serve',
        '--db',
        db,
        '--data-dir',
        dataDir,
        '--listen',
        `127.0.0.1:${port}`,
        '--public-url',
        publicUrl,
      ],
      {
        cwd: root,
        // The balancer overwrites X-Forwarded-For with the client's address: the nodes may trust it.
        env: { ...process.env, STRONGROOM_ROOT_KEY: rootKey, STRONGROOM_TRUST_PROXY: 'true', NO_COLOR: '1' },
        stdio: ['ignore', log.fd, log.fd],
      },
    )
    const node = {
      n,
      dataDir,
      child,
      url: null,
      ready: false,
      exited: new Promise((resolve) => child.once('exit', resolve)),
    }
    nodes.push(node)
    await log.close()
    child.once('exit', (code, signal) => {
      if (stopping) return
      console.error(
        `\nnode ${n} stopped (${signal ?? `exit ${code}`}); see ${shown(join(dataDir, 'server.log'))}. ` +
          'The others go on; Ctrl-C stops everything.',
      )
    })
    const deadline = Date.now() + READY_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break
      const written = existsSync(join(dataDir, 'url'))
        ? readFileSync(join(dataDir, 'url'), 'utf8').trim()
        : ''
      if (/^https?:\/\/\S+$/.test(written) && (await isReady(written))) {
        node.url = written
        node.ready = true
        return node
      }
      await sleep(50)
    }
    const tail = existsSync(join(dataDir, 'server.log'))
      ? readFileSync(join(dataDir, 'server.log'), 'utf8').trim().split('\n').slice(-15).join('\n')
      : ''
    throw new Error(`node ${n} did not become ready:\n${tail}`)
  }

  // The first node bootstraps the empty database (under an advisory lock, so starting all at once
  // would work too); starting it first makes it the one that writes the admin token and demo files.
  const first = await startNode(1)
  await Promise.all(Array.from({ length: options.nodes - 1 }, (_, i) => startNode(i + 2)))

  const tokenFile = join(first.dataDir, 'admin-token')
  const lines = [
    '',
    `strongroom cluster: ${nodes.length} nodes on one PostgreSQL database`,
    '',
    `  load balancer: ${publicUrl}    (round robin over the ready nodes; every node's public URL)`,
    ...nodes.map(
      (node) => `  node ${node.n}: ${node.url}    (log: ${shown(join(node.dataDir, 'server.log'))})`,
    ),
    `  database: ${db}    (psql "${db}")`,
    `  folder:   ${base}`,
    '',
    '  Every node serves the same data; a change made through one is seen by the others on their',
    '  next request. The admin token, for the CLI on any node:',
    `    export STRONGROOM_ADMIN_TOKEN=$(cat ${tokenFile})`,
    ...nodes.map((node) => `    npx strongroom --url ${node.url} instance list`),
    '',
    '  Through the load balancer, or straight to any node; write through one, read through another:',
    `    printf 's3cr3t' | npx strongroom --url ${nodes[0].url} credential create --identifier demo/shared --type api_key`,
    `    npx strongroom --url ${nodes.at(-1).url} credential reveal demo/shared --reason "trying the cluster"`,
    '',
    '  The demo workload for the SDKs (its configuration points at the load balancer):',
    `    export CLOUD_IDAAS_CONFIG_PATH=${join(first.dataDir, 'client-config.json')}`,
    `    export IDAAS_CLIENT_SECRET=$(cat ${join(first.dataDir, 'client-secret')})`,
    '    npx strongroom get api-key demo/api-key',
    '',
    '  Try an outage: stop PostgreSQL for a while; the nodes answer 503 with Retry-After, /readyz',
    '  turns 503, and everything serves again by itself once it is back:',
    `    ${runningAsRoot ? `su ${SERVER_USER} -c "` : ''}${postgres.pgCtl} -D ${pgData} -m fast stop${runningAsRoot ? '"' : ''}`,
    `    ${runningAsRoot ? `su ${SERVER_USER} -c "` : ''}${postgres.pgCtl} -D ${pgData} -l ${pgLog} -o '-p ${pgPort} -k ${pgSocket} -c listen_addresses=127.0.0.1' start${runningAsRoot ? '"' : ''}`,
    '',
    '  Ctrl-C stops every node and PostgreSQL and removes the folder.',
    '',
  ]
  console.log(lines.join('\n'))
} catch (error) {
  console.error(`npm run cluster: ${error instanceof Error ? error.message : String(error)}`)
  await stopAll(1)
}
