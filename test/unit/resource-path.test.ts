import fc from 'fast-check'
import t from 'tap'
import { isPlausibleNamespacePath, isPlausibleUsername } from '../../src/domain/resource-path.js'

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/

t.test('paths of the directory grammar are plausible; anything else is not', async (t) => {
  for (const ok of ['acme', 'acme/platform/api', 'a', '_x', 'my.group/sub-group/proj_1', `${'a'.repeat(255)}/b`]) t.ok(isPlausibleNamespacePath(ok), ok)
  for (const bad of ['', '/', 'acme/', '/acme', 'acme//api', 'acme/platform/api\u0000', 'acme/\ud800', '.acme', 'acme/-x', '../acme', 'acme/../x',
    'acme/%00', 'ácme', 'acme platform', 'acme\\api', 'a'.repeat(256), 'acme/api\n']) {
    t.notOk(isPlausibleNamespacePath(bad), JSON.stringify(bad))
  }
  t.ok(isPlausibleUsername('alice'))
  t.ok(isPlausibleUsername('alice.smith-2'))
  for (const bad of ['alice/x', '', 'alice\u0000', '\ud800', '-alice', 'a'.repeat(256)]) t.notOk(isPlausibleUsername(bad), JSON.stringify(bad))
})

t.test('agrees with the segment grammar the directory stores, for any text', async (t) => {
  const text = fc.string({ unit: 'binary', maxLength: 40 })
  const pathish = fc.array(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/), text), { minLength: 1, maxLength: 4 }).map((s) => s.join('/'))
  fc.assert(fc.property(fc.oneof(text, pathish), (path) => {
    const segments = path.split('/')
    const expected = segments.every((s) => SEGMENT.test(s) && s.length <= 255)
    return isPlausibleNamespacePath(path) === expected && isPlausibleUsername(path) === (expected && segments.length === 1)
  }), { numRuns: 2000 })
})
