import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

// Ports handed out are taken from below the kernel's ephemeral range. A port the OS picked for
// listen(0) comes from that range, which outgoing connections (every pg and Redis client on the
// machine) also draw their local ports from: between our check and the real listen, one of them can
// take it (EADDRINUSE, seen in CI). Below the range only another listener can collide, and a
// random pick among ~20,000 ports, checked by binding, makes that rare.
const LOWEST = 10_000
const ATTEMPTS = 50

/** The first port of the kernel's ephemeral range (Linux default 32768; 49152 elsewhere). */
function ephemeralStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 0 ? low : 32_768
  } catch {
    return 32_768
  }
}

/** Binds and releases `port` on 127.0.0.1: the port number it got, or 0 when it was taken. */
function tryPort(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolvePort(0) : reject(err)))
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address()
      const got = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolvePort(got))
    })
  })
}

/** A port that was free a moment ago on 127.0.0.1, outside the range outgoing connections use. */
export async function freePort(): Promise<number> {
  const below = ephemeralStart()
  if (below - LOWEST >= 1_000) {
    for (let i = 0; i < ATTEMPTS; i++) {
      const got = await tryPort(LOWEST + Math.floor(Math.random() * (below - LOWEST)))
      if (got) return got
    }
  }
  return tryPort(0) // a machine without room below its ephemeral range: let the OS pick
}
