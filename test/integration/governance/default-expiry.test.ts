// A token created without expires_at gets a default expiry, as in GitLab: the instance or group default
// lifetime when one is set, else 365 days, or the maximum lifetime in force if that is lower. An
// explicit expires_at: null still asks for a token that never expires, only where policy allows it.
import t from 'tap'
import { build } from '../../helpers/app.js'
import { ACME, ALICE, API_PROJECT, CLI_PROJECT, inDays, seedDirectory } from '../../helpers/fixtures.js'
import { readCodeOn } from '../../helpers/tokens.js'
import { ok, putGroup, putInstance, tryCreate } from './helpers.js'

const onCli = { granular_scopes: readCodeOn([CLI_PROJECT]) }
const onApi = { granular_scopes: readCodeOn([API_PROJECT]) }

t.test('no expires_at and no policy: 365 days, for fine-grained and legacy tokens alike', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const fine = await tryCreate(ctx, ALICE, onCli)
  t.equal(fine.statusCode, 201, fine.body)
  t.equal(fine.json().expires_at, inDays(365))
  const legacy = await tryCreate(ctx, ALICE, { scopes: ['read_api'] })
  t.equal(legacy.statusCode, 201, legacy.body)
  t.equal(legacy.json().expires_at, inDays(365))

  const never = await tryCreate(ctx, ALICE, { ...onCli, expires_at: null })
  t.equal(never.statusCode, 400, 'an explicit null is not "omitted": the instance requires an expiry by default')
  t.equal(never.json().code, 'expiry_required')
  t.equal(never.json().errors[0].path, 'body.expires_at')
})

t.test('a lower maximum lifetime caps the default: the instance\'s, or the stricter group\'s where the token reaches it', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await ok(putInstance(ctx, { max_lifetime_days: 30 }))
  t.equal((await tryCreate(ctx, ALICE, onCli)).json().expires_at, inDays(30), 'instance maximum 30 days')
  await ok(putGroup(ctx, ACME, { max_lifetime_days: 10 }))
  t.equal((await tryCreate(ctx, ALICE, onApi)).json().expires_at, inDays(10), 'acme allows 10 days: a token reaching acme gets 10')
  t.equal((await tryCreate(ctx, ALICE, onCli)).json().expires_at, inDays(30), 'elsewhere the instance maximum')
  const tooLong = await tryCreate(ctx, ALICE, { ...onApi, expires_at: inDays(11) })
  t.equal(tooLong.statusCode, 400, 'an explicit date beyond the maximum is still refused')
  t.equal(tooLong.json().code, 'expiry_beyond_max_lifetime')
})

t.test('a configured default lifetime wins over 365 days: instance, then the stricter group', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await ok(putInstance(ctx, { default_lifetime_days: 90 }))
  t.equal((await tryCreate(ctx, ALICE, onCli)).json().expires_at, inDays(90), 'the instance default')
  await ok(putGroup(ctx, ACME, { default_lifetime_days: 14 }))
  t.equal((await tryCreate(ctx, ALICE, onApi)).json().expires_at, inDays(14), 'the group default where the token reaches the group')
  t.equal((await tryCreate(ctx, ALICE, onCli)).json().expires_at, inDays(90), 'the instance default elsewhere')
  t.equal((await tryCreate(ctx, ALICE, { ...onCli, expires_at: inDays(3) })).json().expires_at, inDays(3), 'an explicit date wins over any default')
})

t.test('where no expiry is required, omitted still means the default and null means never', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  await ok(putInstance(ctx, { require_expiry: false }))
  t.equal((await tryCreate(ctx, ALICE, onCli)).json().expires_at, inDays(365), 'omitted: 365 days, as GitLab')
  const never = await tryCreate(ctx, ALICE, { ...onCli, expires_at: null })
  t.equal(never.statusCode, 201)
  t.equal(never.json().expires_at, null, 'null: never expires')
  await ok(putGroup(ctx, ACME, { require_expiry: true }))
  const required = await tryCreate(ctx, ALICE, { ...onApi, expires_at: null })
  t.equal(required.statusCode, 400, 'a group that requires an expiry refuses null where the token reaches it')
  t.equal(required.json().code, 'expiry_required')
})
