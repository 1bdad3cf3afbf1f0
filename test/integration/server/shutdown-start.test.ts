// npm start (start.js with its embedded PostgreSQL and redis-server) shuts down within
// SHUTDOWN_TIMEOUT on Ctrl-C (a SIGINT to its whole process group) whether its servers are stalled
// or already gone; a second Ctrl-C exits at once; a forced exit leaves no server behind.
import t, { type Test } from 'tap'
import { freePort } from '../../../src/embedded/ports.js'
import { alive, answers, childrenOf, dataFolder, exitsWithin, type RunningEntry, runEntry, signal, waitUntil } from '../../helpers/processes.js'

// Each exit must come within BOUND_MS plus slack (see exitsWithin).
const exitsWithinBound = (t: Test, app: RunningEntry, send: () => void, label: string) => exitsWithin(t, app, send, label, BOUND_MS)

const BOUND_MS = 3000

/** npm start's compiled entry, embedded PostgreSQL and redis-server included, in a folder of its own. */
async function startEmbedded(t: Test) {
  const dataDir = dataFolder(t, 'start')
  const port = String(await freePort())
  const app = runEntry(t, 'cli/start.js', { DATA_DIR: dataDir, PORT: port, SHUTDOWN_TIMEOUT: `${BOUND_MS}ms`, LOG_LEVEL: 'warn', SEED_DEMO: 'false' })
  await waitUntil('npm start', () => answers(`http://127.0.0.1:${port}/readyz`), 90_000, app.output)
  const children = childrenOf(app.pid)
  const servers = children.filter((c) => /^(postgres|redis-server)/.test(c.comm))
  t.same(servers.map((c) => c.comm.split(' ')[0]).sort(), ['postgres', 'redis-server'], `embedded PostgreSQL and Redis run under it: ${JSON.stringify(children)}`)
  const postgres = servers.find((c) => c.comm === 'postgres')?.pid ?? 0
  // PostgreSQL's backends are session leaders of their own (setsid), outside the group a Ctrl-C
  // reaches: they leave on their own once the postmaster is gone, unless stopped; continue and kill them.
  const seen = new Set<number>()
  const everyServerProcess = () => {
    for (const p of [...servers.map((c) => c.pid), ...childrenOf(postgres).map((c) => c.pid)]) seen.add(p)
    return [...seen]
  }
  t.teardown(() => {
    for (const p of seen) for (const sig of ['SIGCONT', 'SIGKILL'] as const) signal(p, sig)
  })
  return { app, servers: servers.map((c) => c.pid), everyServerProcess }
}

t.test('npm start: Ctrl-C with its PostgreSQL and Redis stalled exits within the bound and kills them', async (t) => {
  const { app, servers, everyServerProcess } = await startEmbedded(t)
  for (const pid of everyServerProcess()) signal(pid, 'SIGSTOP')
  const outcome = await exitsWithinBound(t, app, () => signal(-app.pid, 'SIGINT'), 'npm start, servers stalled, Ctrl-C')
  // The close's own calls are bounded (statement, connect and Redis command timeouts), so it may
  // finish gracefully (0) or be cut by SHUTDOWN_TIMEOUT (1): either way within the bound.
  t.ok(outcome?.code === 0 || outcome?.code === 1, `exit status ${outcome?.code}`)
  await waitUntil('the embedded servers to go', () => servers.every((p) => !alive(p)), 3000)
  t.pass('no embedded server left running')
})

t.test('npm start: a second Ctrl-C exits at once', async (t) => {
  const { app, servers, everyServerProcess } = await startEmbedded(t)
  for (const pid of everyServerProcess()) signal(pid, 'SIGSTOP')
  signal(-app.pid, 'SIGINT')
  await new Promise((r) => setTimeout(r, 300))
  const sent = Date.now()
  signal(-app.pid, 'SIGINT')
  const outcome = await app.exited
  t.ok(outcome.at - sent < 1500, `exited ${outcome.at - sent} ms after the second SIGINT`)
  t.not(outcome.code, 0)
  await waitUntil('the embedded servers to go', () => servers.every((p) => !alive(p)), 3000)
  t.pass('no embedded server left running')
})

t.test('npm start: Ctrl-C after its PostgreSQL and Redis are already gone exits cleanly, well within the bound', async (t) => {
  const { app, everyServerProcess } = await startEmbedded(t)
  for (const pid of everyServerProcess()) signal(pid, 'SIGKILL')
  await new Promise((r) => setTimeout(r, 300))
  const outcome = await exitsWithinBound(t, app, () => signal(-app.pid, 'SIGINT'), 'npm start, servers gone, Ctrl-C')
  t.equal(outcome?.code, 0, 'a graceful exit')
  if (outcome?.code !== 0) t.comment(app.output().slice(-2000))
})
