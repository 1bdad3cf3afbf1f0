// GET /users and /users/:id: GitLab's basic user, so an inventory can name a token's owner and be
// filtered by username. Everyone signed in sees active users; administrators every state.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ADMIN, ALICE, asUser, BOB, CAROL, seedDirectory } from '../../helpers/fixtures.js'
import { createToken, patHeader } from '../../helpers/tokens.js'

t.test('users by id, username and search; blocked users only for administrators', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const get = async (url: string, who = ALICE) => ctx.app.inject({ url: `/api/v4${url}`, headers: await asUser(ctx, who) })

  const bob = await get(`/users/${BOB}`)
  t.equal(bob.statusCode, 200)
  t.same(bob.json(), { id: BOB, username: 'bob', name: 'Bob', state: 'active' }, 'the basic shape: no email, no admin flag')
  t.equal((await get('/users/999')).statusCode, 404)

  const byName = await get('/users?username=BOB')
  t.same(byName.json().map((u: { id: number }) => u.id), [BOB], 'username is exact and case-insensitive')
  t.same((await get('/users?username=bo')).json(), [], 'not a prefix match')
  const search = await get('/users?search=o')
  t.same(search.json().map((u: { id: number }) => u.id), [ADMIN, BOB, CAROL], 'search: part of the username or name')
  t.equal(search.headers['x-total'], '3')
  t.same((await get('/users?search=%25')).json(), [], 'wildcards are literal')

  const blocked = await ctx.app.inject({
    method: 'PUT', url: `/api/v4/directory/users/${CAROL}`,
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` },
    payload: { username: 'carol', name: 'Carol', email: 'carol@example.com', state: 'blocked' },
  })
  t.equal(blocked.statusCode, 200, blocked.body)
  t.equal((await get(`/users/${CAROL}`)).statusCode, 404, 'a blocked user is not listed to users')
  t.equal((await get(`/users/${CAROL}`, ADMIN)).json().state, 'blocked', 'administrators see every state')
  t.same((await get('/users?search=carol')).json(), [])

  // A token needs read_user, as GET /user does.
  const withRead = await createToken(ctx, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
  const without = await createToken(ctx, ALICE)
  t.equal((await ctx.app.inject({ url: `/api/v4/users/${BOB}`, headers: patHeader(withRead.token!) })).statusCode, 200)
  t.equal((await ctx.app.inject({ url: `/api/v4/users/${BOB}`, headers: patHeader(without.token!) })).statusCode, 403)
})
