// Without SMTP_URL, mail is written as .eml files under DATA_DIR/mail/: one file per
// notification, named so that `ls` reads in event order, and a resend replaces its file.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { sql } from 'kysely'
import t from 'tap'
import { ALICE, asUser } from '../../helpers/fixtures.js'
import { createToken } from '../../helpers/tokens.js'
import { deliverNotification } from '../../../src/jobs/mail-job.js'
import { flat, setUpJobs, waitForDeliveries } from './setup.js'

t.test('no SMTP_URL: readable .eml files under DATA_DIR/mail, never the secret', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fgpat-mail-'))
  const { ctx, worker } = await setUpJobs(t, { env: { SMTP_URL: '', DATA_DIR: dataDir } })
  t.equal(worker.transport.description, join(dataDir, 'mail'))
  const token = await createToken(ctx, ALICE, { name: 'laptop' })
  await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${token.id}`, headers: await asUser(ctx, ALICE) })
  await worker.dispatchNow()
  await waitForDeliveries(ctx, 2)

  const dir = join(dataDir, 'mail')
  const files = readdirSync(dir).sort()
  t.same(files, ['00000002-token-created.eml', '00000003-token-revoked.eml'])
  const raw = readFileSync(join(dir, files[0]), 'utf8')
  t.notOk(raw.includes(token.token!), 'no secret in the file')
  t.match(raw, /Content-Type: text\/plain; charset=utf-8\r?\nContent-Transfer-Encoding: 7bit/, 'the text part is plain ASCII: `cat` shows it as is')
  t.match(raw, 'You created a new personal access token "laptop".')
  const parsed = await simpleParser(raw)
  t.equal(parsed.subject, 'New personal access token "laptop" added to your account')
  t.match(flat(parsed.text), new RegExp(`Token hint:\\s+${token.token_hint}\\.\\.\\.`))
  t.match(String(parsed.html), '<html')
  t.match(JSON.stringify(parsed.to), 'alice@example.com')
  t.equal(parsed.headers.get('auto-submitted'), 'auto-generated')

  // A resend (the delivery record lost, say) rewrites the same file rather than adding one.
  await sql`delete from notification_deliveries`.execute(ctx.app.db)
  const log = { info: () => undefined } as never
  t.equal(await deliverNotification({ db: ctx.app.db, config: ctx.config, transport: worker.transport, log }, { eventId: 2, kind: 'owner_mail' }), 'sent')
  t.same(readdirSync(dir).sort(), files, 'still one file per notification')
})
