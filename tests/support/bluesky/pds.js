// A PLC directory and a PDS on loopback for papercast's Bluesky tests, started by
// tests/support/bluesky.rs with `node pds.js` in the directory holding node_modules.
// Prints one JSON line {"plc": port, "pds": port} when both answer; closes on SIGTERM
// or when stdin closes (so a killed test leaves nothing behind).
'use strict'

const net = require('node:net')

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

async function main() {
  const { TestNetworkNoAppView } = require('@atproto/dev-env')
  const plcPort = await freePort()
  const pdsPort = await freePort()
  const network = await TestNetworkNoAppView.create({
    plc: { port: plcPort },
    pds: { port: pdsPort, hostname: 'localhost' },
  })
  let closing = false
  const close = async () => {
    if (closing) return
    closing = true
    try {
      await network.close()
    } finally {
      process.exit(0)
    }
  }
  process.on('SIGTERM', close)
  process.on('SIGINT', close)
  process.stdin.on('end', close)
  process.stdin.resume()
  process.stdout.write(JSON.stringify({ plc: plcPort, pds: pdsPort }) + '\n')
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
