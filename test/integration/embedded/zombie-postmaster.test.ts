// A server killed with its node process is adopted by init and stays a zombie until init collects
// it: at once with a usual init, every ~1.6 s with this machine's. PostgreSQL counts a zombie named
// in postmaster.pid as a running postmaster and refuses to start, so the embedded start waits for
// it to be reaped (waitUntilReaped, embedded/postgres.ts).
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { waitUntilReaped } from '../../../src/embedded/children.js'

t.test('waitUntilReaped returns once a killed orphan is gone from /proc, not while it is a zombie', async (t) => {
  // `sleep` outlives the shell that started it: an orphan, adopted by init (or the nearest subreaper).
  const pid = Number(execFileSync('sh', ['-c', 'sleep 60 >/dev/null 2>&1 & echo $!']).toString().trim())
  t.ok(existsSync(`/proc/${pid}`), `the orphan ${pid} runs`)
  process.kill(pid, 'SIGKILL')
  const state = () => (existsSync(`/proc/${pid}`) ? /\)\s+(\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] : 'gone')
  // The kill takes effect asynchronously: as when npm start restarts after a crash, it has by then.
  for (const deadline = Date.now() + 2000; !['Z', 'gone'].includes(state() ?? 'gone') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10))
  t.comment(`after the kill: ${state()}`)
  const startedAt = Date.now()
  await waitUntilReaped(pid, 10_000)
  t.equal(state(), 'gone', `reaped ${Date.now() - startedAt} ms after it died`)
})

t.test('waitUntilReaped does not wait for a live process (stopLeftover stops those)', async (t) => {
  const startedAt = Date.now()
  await waitUntilReaped(process.pid, 300)
  t.ok(Date.now() - startedAt < 300, 'a live process is not waited for')
})
