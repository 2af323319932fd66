// A local Bluesky network on loopback for papercast's tests, started by
// tests/support/bluesky.rs with `node pds.js [--appview]` in the directory holding
// node_modules.
//
// Without --appview: a PLC directory and a PDS (no PostgreSQL needed).
// With --appview: PLC, PDS, the AppView (bsky) and the moderation service it needs
// (ozone), on the PostgreSQL database in DB_POSTGRES_URL (schemas named after
// DB_POSTGRES_SCHEMA) and the Redis at REDIS_HOST; the PDS serves the AppView's
// methods (getPostThread, listNotifications, ...) as in production.
//
// Prints one JSON line {"plc": port, "pds": port[, "bsky": port], "control": port}
// when all answer. The control port answers `POST /process-all`: it returns once the
// network has passed every event so far on to the AppView (the AppView also follows on
// its own, within about a second). Closes on SIGTERM or when stdin closes (so a
// killed test leaves nothing behind).
'use strict'

const net = require('node:net')
const http = require('node:http')

// dev-env listens on every interface; the tests bind everything to loopback.
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') {
    args.splice(1, 0, '127.0.0.1')
  }
  return listen.apply(this, args)
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function start(appview) {
  const plcPort = await freePort()
  const pdsPort = await freePort()
  if (!appview) {
    const { TestNetworkNoAppView } = require('@atproto/dev-env')
    const network = await TestNetworkNoAppView.create({
      plc: { port: plcPort },
      pds: { port: pdsPort, hostname: 'localhost' },
    })
    return { network, ports: { plc: plcPort, pds: pdsPort } }
  }
  const { TestNetwork } = require('@atproto/dev-env')
  const bskyPort = await freePort()
  const ozonePort = await freePort()
  const network = await TestNetwork.create({
    dbPostgresSchema: process.env.DB_POSTGRES_SCHEMA || 'papercast',
    plc: { port: plcPort },
    pds: { port: pdsPort, hostname: 'localhost', enableDidDocWithSession: true },
    bsky: { port: bskyPort, publicUrl: `http://localhost:${bskyPort}` },
    ozone: { port: ozonePort },
  })
  return { network, ports: { plc: plcPort, pds: pdsPort, bsky: bskyPort } }
}

function controlServer(network) {
  // One processAll at a time: overlapping ones race on the AppView's cursor.
  let queue = Promise.resolve()
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/process-all') {
      res.writeHead(404).end()
      return
    }
    queue = queue.then(async () => {
      try {
        await network.processAll()
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      } catch (error) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error))
      }
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

async function main() {
  const appview = process.argv.includes('--appview')
  const { network, ports } = await start(appview)
  const control = await controlServer(network)
  let closing = false
  const close = async () => {
    if (closing) return
    closing = true
    // Its databases may be gone already (the test binary ended): do not wait long.
    setTimeout(() => process.exit(0), 3000).unref()
    try {
      control.close()
      await network.close()
    } finally {
      process.exit(0)
    }
  }
  process.on('SIGTERM', close)
  process.on('SIGINT', close)
  process.stdin.on('end', close)
  process.stdin.resume()
  ports.control = control.address().port
  process.stdout.write(JSON.stringify(ports) + '\n')
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
