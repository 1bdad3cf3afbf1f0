// No mail lost to a crash (crash-restart.test.ts, crash-redis-lost.test.ts): the whole embedded
// default (npm start's start.js: API, worker, PostgreSQL with fsync, Redis with an append-only
// file) is killed with SIGKILL while a backlog of "created" mails is still going out, then started
// again on the same data — with Redis's append-only file, or without it (every queued job lost:
// only PostgreSQL knows). Every created token's mail arrives; a Message-ID may arrive twice only
// in the documented window (the mail server accepted it, the process died before the delivery's
// COMMIT), so at most once per mail in flight.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { signDevJwt } from '../../../src/auth/dev-jwt.js'
import { DEMO_USER_ID } from '../../../src/cli/demo-directory.js'
import { freePort } from '../../../src/embedded/ports.js'
import { answers, dataFolder, runEntry, waitUntil } from '../../helpers/processes.js'
import { startSmtp } from '../../helpers/smtp.js'
import { inDays } from '../../helpers/fixtures.js'

const TOKENS = 400
const MAILS_IN_FLIGHT = 5 // the worker's mail concurrency: the most a crash can catch mid-send

type Tap = Test

/** Each phase's time on stderr: when a slow CI machine runs out of time, its log says where. */
const phase = (name: string, since: number) => console.error(`[crash] ${name}: ${Date.now() - since} ms`)

/** Runs the scenario as a subtest of `t`. */
export function crashAndRestart(t: Tap, { name, loseRedis }: { name: string; loseRedis: boolean }): void {
  // Two starts of the whole embedded default (PostgreSQL with fsync on) and a backlog of 400 mails:
  // ~30 s on a quiet machine, several times that on a busy CI runner.
  t.setTimeout(420_000)
  t.test(`kill -9 of everything with a mail backlog, then a restart; ${name}: every created mail arrives, none twice beyond the crash window`, async (t) => {
    const smtp = await startSmtp(t)
    smtp.delayMs = 40 // a real relay's pace: mail falls behind token creation
    const dataDir = dataFolder(t, 'crash')
    const env = async () => ({
      DATA_DIR: dataDir, PORT: String(await freePort()), SMTP_URL: smtp.url, LOG_LEVEL: 'warn',
      // Short enough for a test: lost jobs re-dispatched after 2 s, a dead worker's jobs retaken after ~2 s.
      OUTBOX_REDISPATCH_AFTER: '2s', JOB_LOCK_DURATION: '2s',
    })
    const start = async () => {
      const startedAt = Date.now()
      const e = await env()
      const app = runEntry(t, 'cli/start.js', e)
      await waitUntil('npm start', async () => app.output().includes('fgpat is running at') && (await answers(`http://127.0.0.1:${e.PORT}/readyz`)), 150_000, app.output)
      phase(`${name}: npm start ready`, startedAt)
      return { app, url: `http://127.0.0.1:${e.PORT}` }
    }

    const first = await start()
    const { jwtSecret } = JSON.parse(readFileSync(join(dataDir, 'dev-secrets.json'), 'utf8')) as { jwtSecret: string }
    const jwt = await signDevJwt({ secret: jwtSecret, sub: String(DEMO_USER_ID) })
    const names = Array.from({ length: TOKENS }, (_, i) => `crash-${i}`)
    let next = 0
    const create = async () => {
      for (let i = next++; i < TOKENS; i = next++) {
        const res = await fetch(`${first.url}/api/v4/user/personal_access_tokens`, {
          method: 'POST',
          headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: names[i], expires_at: inDays(30), granular_scopes: [{ access: 'selected_memberships', project_ids: [102], permissions: ['read_code'] }] }),
        })
        if (res.status !== 201) throw new Error(`create ${names[i]}: ${res.status} ${await res.text()}`)
      }
    }
    const creatingAt = Date.now()
    await Promise.all(Array.from({ length: 10 }, create))
    phase(`${name}: ${TOKENS} tokens created`, creatingAt)
    await new Promise((r) => setTimeout(r, 100))

    const sentBeforeCrash = smtp.mails.length
    process.kill(-first.app.pid, 'SIGKILL') // the whole process group: node, and with it (parent-death signal) postgres and redis-server
    await first.app.exited
    t.ok(sentBeforeCrash < TOKENS, `killed with mail still going out (${sentBeforeCrash} of ${TOKENS} sent)`)
    if (loseRedis) rmSync(join(dataDir, 'redis'), { recursive: true, force: true })

    const restartedAt = Date.now()
    const second = await start()
    const created = (subject: string) => /^New personal access token "(crash-\d+)"/.exec(subject)?.[1]
    await waitUntil(
      `every created mail (${TOKENS})`,
      () => new Set(smtp.mails.map((m) => created(m.subject)).filter(Boolean)).size === TOKENS,
      120_000,
      () => `${new Set(smtp.mails.map((m) => created(m.subject))).size} distinct of ${TOKENS}`,
    )
    phase(`${name}: every mail arrived after the restart began`, restartedAt)
    t.comment(`all ${TOKENS} mails in ${Date.now() - restartedAt} ms after the restart began`)
    await new Promise((r) => setTimeout(r, 2500)) // a late duplicate would show up now

    const mails = smtp.mails.filter((m) => created(m.subject))
    const byMessageId = new Map<string, number>()
    for (const m of mails) byMessageId.set(m.messageId, (byMessageId.get(m.messageId) ?? 0) + 1)
    const resent = [...byMessageId.values()].filter((n) => n > 1).length
    t.equal(byMessageId.size, TOKENS, 'one Message-ID per created token, every one delivered')
    t.ok(resent <= MAILS_IN_FLIGHT, `${resent} Message-ID(s) arrived twice: only mails in flight at the kill can (at most ${MAILS_IN_FLIGHT})`)
    t.ok([...byMessageId.values()].every((n) => n <= 2), 'none more than twice')
    t.comment(`${sentBeforeCrash} sent before the kill, ${mails.length - sentBeforeCrash} after the restart, ${resent} resent in the crash window`)
    const redispatched = [...second.app.output().matchAll(/"redispatched":(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
    t.comment(`jobs lost with Redis and dispatched again from PostgreSQL by the reconciler: ${redispatched}`)
    if (loseRedis) t.ok(redispatched > 0, 'the reconciler re-dispatched the lost backlog')
  })
}
