// An unmodified GitLab API client library (@gitbeaker/rest) manages tokens against a running server,
// authenticating with the caller JWT as its OAuth token.
import { Gitlab } from '@gitbeaker/rest'
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ALICE, inDays, seedDirectory } from '../../helpers/fixtures.js'

t.test('@gitbeaker/rest creates, lists, shows, rotates and revokes tokens', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  const api = new Gitlab({ host: address, oauthToken: await ctx.jwt.user(ALICE) })

  const created = await api.PersonalAccessTokens.create(ALICE, 'gitbeaker', ['read_repository'], { expiresAt: inDays(20) })
  t.match(created, { name: 'gitbeaker', scopes: ['read_repository'], active: true, revoked: false, user_id: ALICE, expires_at: inDays(20) })
  t.match(created.token, /^lgpat-/)

  const viaUsers = await api.Users.createPersonalAccessToken(ALICE, 'second', ['read_api'], { expiresAt: inDays(3) })
  t.equal(viaUsers.name, 'second')

  const all = await api.PersonalAccessTokens.all({ userId: ALICE })
  t.same(all.map((x) => x.name).sort(), ['gitbeaker', 'second'])

  const shown = await api.PersonalAccessTokens.show({ tokenId: created.id })
  t.equal(shown.id, created.id)

  const rotated = await api.PersonalAccessTokens.rotate(created.id, { expiresAt: inDays(10) })
  t.not(rotated.id, created.id)
  t.equal(rotated.expires_at, inDays(10))
  t.match(rotated.token, /^lgpat-/)

  await api.PersonalAccessTokens.remove({ tokenId: rotated.id })
  const after = await api.PersonalAccessTokens.show({ tokenId: rotated.id })
  t.equal(after.revoked, true)
  t.equal(after.active, false)

  // With the token itself: the PRIVATE-TOKEN header, and the "self" endpoints.
  const asToken = new Gitlab({ host: address, token: viaUsers.token })
  const self = await asToken.PersonalAccessTokens.show()
  t.equal(self.id, viaUsers.id)
  await asToken.PersonalAccessTokens.remove()
  await t.rejects(asToken.PersonalAccessTokens.show(), 'a revoked token can no longer call')

  await t.rejects(api.PersonalAccessTokens.show({ tokenId: 424242 }), /Not Found/)
})
