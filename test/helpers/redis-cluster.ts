// A Redis Cluster of the test's own (3 masters, no replicas) from plain redis-server processes,
// and a Sentinel setup (one primary, one Sentinel), like dedicated-redis.ts starts a single node.
// Nothing persists (no RDB/AOF): a master killed and started again comes back empty, with its
// node id and slots from its nodes.conf, as a master whose data was lost. Every process is
// resumed and killed when the test ends.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from '../../src/embedded/ports.js'
import { ensureRedisServerInstalled } from '../../src/embedded/redis.js'

interface Tap {
  teardown: (fn: () => unknown) => void
}

const SLOTS = 16384

class ServerProcess {
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()

  constructor(readonly port: number, private readonly args: string[], readonly busPort = 0) {}

  async start(): Promise<void> {
    const child = spawn(ensureRedisServerInstalled(() => undefined), this.args, { stdio: 'ignore' })
    this.child = child
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
    await waitForPing(this.port)
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child!.kill(sig)
  }

  async kill(): Promise<void> {
    this.signal('SIGCONT')
    this.signal('SIGKILL')
    await this.exited
  }
}

async function waitForPing(port: number): Promise<void> {
  for (let tries = 0; ; tries++) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, commandTimeout: 2000 })
    probe.on('error', () => undefined) // refused while the server starts: retried below
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      return
    } catch (err) {
      probe.disconnect()
      if (tries > 100) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

async function onNode<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  // Bounded: a node that accepts and never answers must fail the step, not hang the test.
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, commandTimeout: 2000 })
  r.on('error', () => undefined)
  try {
    return await fn(r)
  } finally {
    r.disconnect()
  }
}

export interface TestCluster {
  /** For REDIS_CLUSTER_NODES. */
  nodes: string
  ports: number[]
  /** SIGKILL master `i` (its slots go unserved; the others report CLUSTERDOWN once they agree it failed). */
  kill: (i: number) => Promise<void>
  /** Master `i` again, on its port with its nodes.conf; resolves once every node says cluster_state:ok. */
  restart: (i: number) => Promise<void>
  /** The port of the master serving `key`. */
  masterOf: (key: string) => Promise<number>
}

export async function startRedisCluster(t: Tap, masters = 3): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fgpat-cluster-'))
  const servers: ServerProcess[] = []
  t.teardown(async () => {
    await Promise.all(servers.map((s) => s.kill()))
    rmSync(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < masters; i++) {
    const port = await freePort()
    // The bus port is chosen too: port + 10000 (the default) may be taken or out of range.
    const busPort = await freePort()
    const server = new ServerProcess(port, [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
      '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000', '--dir', dir, '--save', '', '--appendonly', 'no',
    ], busPort)
    servers.push(server)
  }
  await Promise.all(servers.map((s) => s.start()))
  const ports = servers.map((s) => s.port)
  for (let i = 0; i < masters; i++) {
    const from = Math.floor((SLOTS * i) / masters)
    const to = Math.floor((SLOTS * (i + 1)) / masters) - 1
    await onNode(ports[i], (r) => r.call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)))
  }
  for (let i = 1; i < masters; i++) {
    const other = servers[i]
    // With a bus port of its own, MEET must name it (Redis 7: CLUSTER MEET ip port cluster-port).
    await onNode(ports[0], (r) => r.call('CLUSTER', 'MEET', '127.0.0.1', String(other.port), String(other.busPort)))
  }
  const untilOk = async () => {
    const until = Date.now() + 20_000
    for (;;) {
      const states = await Promise.all(ports.map((p) => onNode(p, async (r) => String(await r.call('CLUSTER', 'INFO'))).catch(() => '')))
      if (states.every((s) => /cluster_state:ok/.test(s) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(s))) return
      if (Date.now() > until) throw new Error(`the test cluster did not become ok:\n${states.join('\n')}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  await untilOk()
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`).join(','),
    ports,
    kill: (i) => servers[i].kill(),
    restart: async (i) => {
      await servers[i].start()
      await untilOk()
    },
    masterOf: async (key) => {
      const slot = Number(await onNode(ports[0], (r) => r.call('CLUSTER', 'KEYSLOT', key)))
      const shards = (await onNode(ports[0], (r) => r.call('CLUSTER', 'SLOTS'))) as [number, number, [string, number]][]
      const owner = shards.find(([from, to]) => slot >= from && slot <= to)
      if (!owner) throw new Error(`no master serves slot ${slot}`)
      return Number(owner[2][1])
    },
  }
}

export interface TestSentinel {
  /** For REDIS_SENTINELS. */
  sentinels: string
  name: string
  primaryPort: number
}

/** One primary and one Sentinel monitoring it (quorum 1), as REDIS_SENTINELS + REDIS_SENTINEL_NAME find it. */
export async function startRedisSentinel(t: Tap, name = 'fgpat-test'): Promise<TestSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'fgpat-sentinel-'))
  const servers: ServerProcess[] = []
  t.teardown(async () => {
    await Promise.all(servers.map((s) => s.kill()))
    rmSync(dir, { recursive: true, force: true })
  })
  const primaryPort = await freePort()
  const primary = new ServerProcess(primaryPort, ['--port', String(primaryPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'])
  servers.push(primary)
  await primary.start()
  const sentinelPort = await freePort()
  // Sentinel rewrites its configuration file: it must be a file of its own, writable.
  const conf = join(dir, 'sentinel.conf')
  writeFileSync(conf, [
    `port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`, `sentinel down-after-milliseconds ${name} 1000`,
  ].join('\n') + '\n')
  const sentinel = new ServerProcess(sentinelPort, [conf, '--sentinel'])
  servers.push(sentinel)
  await sentinel.start()
  return { sentinels: `127.0.0.1:${sentinelPort}`, name, primaryPort }
}
