// npm start makes its database right after PostgreSQL is up; a Ctrl-C can stop PostgreSQL in the
// middle of it. The step must then fail as a rejection the start handles, not crash the process: pg
// also emits 'error' on a client whose server ends the connection outside a query, and unheard that
// is an uncaught exception (CI met it: exit 1 instead of 130, PostgreSQL left to the parent-death
// SIGKILL). The one-task clients (db/task-client.ts) listen for it.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test as Tap } from 'tap'
import { taskClient } from '../../../src/db/task-client.js'
import { ensureDatabase, startEmbeddedPostgres } from '../../../src/embedded/postgres.js'
import { freePort } from '../../../src/embedded/ports.js'
import { waitUntil } from '../../helpers/processes.js'

/** Uncaught exceptions during the test, instead of the crash they would be in npm start. */
function uncaughtDuring(t: Tap): Error[] {
  const uncaught: Error[] = []
  const onUncaught = (err: Error) => void uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  t.teardown(() => void process.off('uncaughtException', onUncaught))
  return uncaught
}

t.test('a task client whose server ends the connection between statements: its next call rejects, nothing is thrown', async (t) => {
  const uncaught = uncaughtDuring(t)
  const client = taskClient(process.env.FGPAT_TEST_PG_ADMIN_URL ?? '')
  await client.connect()
  t.teardown(() => client.end().catch(() => undefined))
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
  // As a stopping PostgreSQL does to every backend: SIGTERM, a FATAL to the idle client, the socket closed.
  const other = taskClient(process.env.FGPAT_TEST_PG_ADMIN_URL ?? '')
  await other.connect()
  await other.query('select pg_terminate_backend($1)', [rows[0]?.pid])
  await other.end()
  await new Promise((r) => setTimeout(r, 300)) // the FATAL and the close reach the idle client
  t.same(uncaught.map((e) => e.message), [], 'no uncaught exception')
  await t.rejects(client.query('select 1'), 'the next call rejects')
})

t.test('ensureDatabase rejects, without crashing the process, when PostgreSQL stops during its CREATE DATABASE', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fgpat-ensure-db-'))
  chmodSync(dir, 0o711) // our own folder: the postgres user (when we are root) must enter it
  const server = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), port: await freePort(), password: 'ensure', persistent: false, durable: false, log: () => undefined })
  t.teardown(async () => {
    await server.stop(2000)
    rmSync(dir, { recursive: true, force: true })
  })

  // A session on template1 holds CREATE DATABASE (which copies template1) in its wait for other users
  // to leave, up to 5 s: the moment to stop the server in.
  const holder = taskClient(server.url('template1')) // the stop below ends this session too
  await holder.connect()
  t.teardown(() => holder.end().catch(() => undefined))

  const uncaught = uncaughtDuring(t)
  const making = ensureDatabase(server.url('postgres'), 'made_while_stopping').then(() => 'made', (err: Error) => err.message)
  const watcher = taskClient(server.url('postgres'))
  await watcher.connect()
  await waitUntil('CREATE DATABASE waiting for template1', async () => {
    const { rowCount } = await watcher.query(`select 1 from pg_stat_activity where query like 'create database%'`)
    return (rowCount ?? 0) > 0
  }, 4000)
  await watcher.end()

  await server.stop(5000) // SIGINT: PostgreSQL's fast shutdown, as npm start's early Ctrl-C does
  const outcome = await making
  t.not(outcome, 'made', 'the database was not made')
  t.match(outcome, /terminat|shut|connection/i, `the step fails with the server's reason: ${outcome}`)
  await new Promise((r) => setTimeout(r, 100)) // the connection's 'end' comes a tick after the rejection
  t.same(uncaught.map((e) => e.message), [], 'no uncaught exception')
})
