// The revoked mail quotes the revoker's note when there is one, and says nothing of it otherwise.
import t from 'tap'
import { composeMessage, type NotificationContext } from '../../src/mail/messages.js'

const ctx = (details: Record<string, unknown>): NotificationContext => ({
  event: { id: 1, action: 'token.revoked', occurredAt: new Date('2026-12-04T12:00:00Z'), targetId: '7', details: { name: 'ci', token_hint: 'abcd', ...details } },
  owner: { name: 'Alice', email: 'alice@example.com' },
  actor: { label: 'Instance Admin (@root)', isOwner: false },
  groupPath: null,
  publicUrl: 'http://localhost:3000',
})

t.test('a note is quoted', async (t) => {
  const m = composeMessage(ctx({ revoke_reason: 'admin', comment: 'left the company' }))
  t.same(m?.facts.find(([k]) => k === 'Their note'), ['Their note', 'left the company'])
})

t.test('no note, no line', async (t) => {
  const m = composeMessage(ctx({ revoke_reason: 'admin' }))
  t.notOk(m?.facts.some(([k]) => k === 'Their note'))
})
