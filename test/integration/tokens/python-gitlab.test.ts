// An unmodified python-gitlab (Debian's python3-gitlab, 3.x) against a running server. It parses a
// single-object answer only when Content-Type is exactly `application/json`; before that rule a
// token it created came back as "a non-dictionary value: <Response [201]>". Skipped where the
// package is not installed: `apt-get install python3-gitlab` runs it.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ALICE, inDays, seedDirectory } from '../../helpers/fixtures.js'

const run = promisify(execFile)

/** The first Python that can import gitlab (the OS one when a version manager shadows python3). */
async function pythonWithGitlab(): Promise<string | undefined> {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      await run(python, ['-c', 'import gitlab'], { timeout: 20_000 })
      return python
    } catch {
      // not this one
    }
  }
  return undefined
}

const SCRIPT = `
import json, sys, gitlab
url, jwt, user_id, expires = sys.argv[1:5]
gl = gitlab.Gitlab(url, oauth_token=jwt)
created = gl.users.get(int(user_id), lazy=True).personal_access_tokens.create({'name': 'python-gitlab', 'scopes': ['read_api'], 'expires_at': expires})
listed = gl.personal_access_tokens.list(user_id=int(user_id), per_page=100, get_all=False)
permissions = gl.http_get('/permissions', query_data={'per_page': 100})
gl.personal_access_tokens.delete(created.id)
print(json.dumps({'id': created.id, 'name': created.name, 'scopes': created.scopes, 'expires_at': created.expires_at,
  'secret': created.token[:6], 'listed': [x.id for x in listed], 'permissions': len(permissions), 'version': gitlab.__version__}))
`

const python = await pythonWithGitlab()

t.test('python-gitlab creates a token for a user, lists, reads a generic list and revokes', {
  skip: python ? false : 'python-gitlab is not installed (apt-get install python3-gitlab runs this test)',
}, async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  const expires = inDays(15)
  const { stdout } = await run(python!, ['-c', SCRIPT, address, await ctx.jwt.user(ALICE), String(ALICE), expires], { timeout: 60_000 })
  const out = JSON.parse(stdout) as { id: number; name: string; scopes: string[]; expires_at: string; secret: string; listed: number[]; permissions: number; version: string }
  t.comment(`python-gitlab ${out.version}`)
  t.match(out, { name: 'python-gitlab', scopes: ['read_api'], expires_at: expires, secret: 'lgpat-' }, 'the created token, parsed')
  t.ok(out.listed.includes(out.id), 'listed (per_page sent, as the client does)')
  t.ok(out.permissions > 100, 'a generic GET with per_page parsed as JSON')
  const shown = await ctx.app.inject({ url: `/api/v4/personal_access_tokens/${out.id}`, headers: { authorization: `Bearer ${await ctx.jwt.user(ALICE)}` } })
  t.equal(shown.json().revoked, true, 'revoked through the client')
})
