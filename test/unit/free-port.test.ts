// freePort (src/embedded/ports.ts) hands out ports below the kernel's ephemeral range: a port from
// inside it can be taken by any outgoing connection's local port between the check and the real
// listen (npm start failed with EADDRINUSE in CI that way).
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import t from 'tap'
import { freePort } from '../../src/embedded/ports.js'

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])

t.test('ports come from below the ephemeral range and can be listened on', async (t) => {
  const ports = new Set<number>()
  for (let i = 0; i < 20; i++) ports.add(await freePort())
  for (const port of ports) {
    t.ok(port >= 10_000 && port < ephemeralStart, `${port} is in [10000, ${ephemeralStart})`)
    const srv = createServer()
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve))
    await new Promise((resolve) => srv.close(resolve))
  }
  t.ok(ports.size > 1, 'picked at random, not one fixed port')
})

t.test('a port already listened on is not handed out', async (t) => {
  // Hold 200 ports (one after another, each listened on before the next pick), then ask for more:
  // none of the held ones may come back.
  const held: { srv: Server; port: number }[] = []
  for (let i = 0; i < 200; i++) {
    const srv = createServer()
    const port = await freePort()
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve))
    held.push({ srv, port })
  }
  const taken = new Set(held.map((h) => h.port))
  t.equal(taken.size, held.length, 'each listener got its own port')
  for (let i = 0; i < 50; i++) t.notOk(taken.has(await freePort()), 'not a held port')
  await Promise.all(held.map((h) => new Promise((resolve) => h.srv.close(resolve))))
})
