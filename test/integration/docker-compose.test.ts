// The compose files validate with `docker-compose config` (no Docker engine needed; npm test
// installs docker-compose), and the scaled stack (docker/docker-compose.scale.yml) keeps its
// promises: pinned images, a health check on every service, TRUST_PROXY set to exactly the
// proxy's address on the stack's network, and both API replicas behind the proxy.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { parseTrustProxy } from '../../src/config.js'
import { findDockerCompose } from '../../src/embedded/docker-compose.js'
import { repoRoot } from '../../src/repo-root.js'

const root = repoRoot()
const SCALE = 'docker/docker-compose.scale.yml'

interface Service {
  image?: string
  build?: unknown
  environment?: Record<string, string>
  healthcheck?: { test?: unknown; disable?: boolean }
  networks?: Record<string, { ipv4_address?: string } | null>
}

/** The file as compose resolves it (anchors, merges and ${VAR:-default} expanded). */
function resolved(file: string): { services: Record<string, Service>; networks: Record<string, { ipam?: { config?: { subnet: string }[] } }> } {
  const compose = findDockerCompose()
  if (!compose) throw new Error('docker-compose is missing: npm test installs it (apt-get install -y docker-compose)')
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' } // defaults only, not this shell's settings
  return parse(execFileSync(compose, ['-f', file, 'config'], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))
}

function inSubnet(address: string, cidr: string): boolean {
  const toInt = (a: string) => a.split('.').reduce((n, octet) => n * 256 + Number(octet), 0)
  const [base, bits] = cidr.split('/')
  const size = 2 ** (32 - Number(bits))
  return Math.floor(toInt(address) / size) === Math.floor(toInt(base!) / size)
}

t.test('docker-compose config accepts both compose files', async (t) => {
  for (const file of ['docker-compose.yml', SCALE]) t.ok(resolved(file).services, `${file} is valid`)
})

t.test('the scaled stack: pinned images, health checks, TRUST_PROXY is the proxy, both replicas upstream', async (t) => {
  const { services, networks } = resolved(SCALE)
  for (const [name, s] of Object.entries(services)) {
    t.ok(s.image, `${name} names its image`)
    const tag = /^(?:[^/]+\/)*[^/:]+:([^/:]+)$/.exec(s.image ?? '')?.[1]
    t.ok(tag && tag !== 'latest', `${name}: ${s.image} is pinned to a version tag`)
    t.ok(s.healthcheck?.test && !s.healthcheck.disable, `${name} has a health check`)
  }
  t.ok(/mailpit/.test(services.mailpit?.image ?? ''), 'a mail catcher')
  t.ok(services.worker, 'the worker')

  const apis = Object.keys(services).filter((n) => services[n]!.environment?.TRUST_PROXY !== undefined)
  t.same(apis.sort(), ['api-1', 'api-2'], 'two API replicas')
  const proxy = services.proxy!
  const [network, attachment] = Object.entries(proxy.networks ?? {})[0]!
  const proxyAddress = attachment?.ipv4_address
  t.ok(proxyAddress, 'the proxy has a fixed address')
  const subnet = networks[network]?.ipam?.config?.[0]?.subnet
  t.ok(subnet && inSubnet(proxyAddress!, subnet), `${proxyAddress} lies in the network's ${subnet}`)
  for (const api of apis) {
    const trusted = parseTrustProxy(services[api]!.environment!.TRUST_PROXY!)
    t.same(trusted, [proxyAddress], `${api} trusts exactly the proxy`)
    t.ok(Object.keys(services[api]!.networks ?? {}).includes(network), `${api} is on the proxy's network`)
    t.notOk(/pgbouncer/.test(services[api]!.environment!.DATABASE_DIRECT_URL ?? ''), `${api} migrates and LISTENs around PgBouncer`)
  }

  const nginx = readFileSync(join(root, 'docker', 'nginx', 'nginx.conf'), 'utf8')
  const upstream = /upstream\s+\w+\s*\{([^}]*)\}/.exec(nginx)?.[1] ?? ''
  const servers = [...upstream.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`)
  t.same(servers.sort(), apis.map((a) => `${a}:3000`), 'the proxy balances over both replicas')
  t.match(nginx, /proxy_set_header X-Forwarded-For \$remote_addr;/, 'the proxy sets X-Forwarded-For itself')
})

// README's "Behind PgBouncer" shows the file whole: a copy edited apart had drifted (inline `;`
// comments, which PgBouncer reads as part of the value: `auth_type = md5 ; or …` would not start).
t.test('README shows docker/pgbouncer/pgbouncer.ini as it is, with no inline comments', async (t) => {
  const ini = readFileSync(join(root, 'docker', 'pgbouncer', 'pgbouncer.ini'), 'utf8')
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1])
  t.same(blocks, [ini], 'one ini block in README, the same text as the file')
  const inline = ini.split('\n').filter((line) => /^[^;#\s][^;]*;/.test(line))
  t.same(inline, [], 'no setting line carries a comment after its value')
})
