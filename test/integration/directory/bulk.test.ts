import t from 'tap'
import { build } from '../../helpers/app.js'
import { fixtureDirectory, seedDirectory } from '../../helpers/fixtures.js'

t.test('bulk load places namespaces with full paths and traversal ids', async (t) => {
  const ctx = await build(t)
  await seedDirectory(ctx)
  const rows = await ctx.app.db.selectFrom('namespaces').select(['id', 'full_path', 'traversal_ids']).orderBy('id').execute()
  t.equal(rows.length, fixtureDirectory.namespaces.length)
  t.same(rows.find((r) => r.id === 105), { id: 105, full_path: 'acme/platform/infra/terraform', traversal_ids: [100, 101, 104, 105] })
})
