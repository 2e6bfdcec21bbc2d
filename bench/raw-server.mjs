// @ts-check
/**
 * The ceiling: the least a Node HTTP server can do per request. Answers every request with a small
 * JSON body; prints `listening PORT` on stdout once bound to 127.0.0.1 on an ephemeral port.
 */
import http from 'node:http'

const body = Buffer.from('{"ok":true}')
const server = http.createServer((req, res) => {
  // Drain any request body so keep-alive connections stay reusable.
  req.resume()
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('unexpected address')
  process.stdout.write(`listening ${address.port}\n`)
})
process.on('SIGTERM', () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
})
