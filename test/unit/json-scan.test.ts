// The byte scanner behind every JSON body: depth counted outside strings only, and the top-level
// arrays of a large body split at the commas between their elements, whatever the strings hold.
import t from 'tap'
import { checkJsonDepth, JsonScanner, JsonTooDeepError } from '../../src/http/json-scan.js'

const bytes = (s: string) => Buffer.from(s)

t.test('depth counts brackets outside strings, escapes included', async (t) => {
  t.doesNotThrow(() => checkJsonDepth(bytes('{"a":[[1]]}'), 3))
  t.throws(() => checkJsonDepth(bytes('{"a":[[1]]}'), 2), new JsonTooDeepError(2))
  t.doesNotThrow(() => checkJsonDepth(bytes('{"a":"[[[[[[{{{{"}'), 1), 'brackets in a string do not count')
  t.doesNotThrow(() => checkJsonDepth(bytes('{"a":"\\"[[[[","b":1}'), 1), 'an escaped quote does not end the string')
  t.throws(() => checkJsonDepth(bytes('{"a":"\\\\",[[["b"]]]}'), 3), new JsonTooDeepError(3), 'an escaped backslash does not escape the quote after it')
  t.doesNotThrow(() => checkJsonDepth(bytes('{"é[":"ü{"}'), 1), 'multi-byte characters are just bytes of a string')
  const deep = bytes(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`)
  t.throws(() => checkJsonDepth(deep, 16), { message: 'The JSON body nests deeper than 16 levels' })
})

t.test('the stepwise scanner agrees with the one-go check and outlines top-level arrays', async (t) => {
  const text = '{"users":[{"name":"a,b]"},{"x":[1,2]}], "n":{"k":[3,4]}, "m":[ ], "s":"[,]"}'
  const scanner = new JsonScanner(bytes(text), 16, true)
  for (let at = 3; !scanner.done; at += 3) scanner.scan(at) // three bytes at a time
  t.ok(scanner.complete)
  t.ok(scanner.topLevelObject)
  t.equal(scanner.arrays.length, 2, 'users and m; the array inside n is not at the top')
  const [users, empty] = scanner.arrays
  t.equal(text[users.open], '[')
  t.equal(text[users.close], ']')
  t.equal(users.commaCount, 1, 'only the comma between the two elements')
  t.equal(text.slice(users.open + 1, users.commas[0]), '{"name":"a,b]"}')
  t.equal(empty.commaCount, 0)
  t.equal(text.slice(empty.open + 1, empty.close), ' ')
})

t.test('an unfinished body is not complete; a top-level array is not an object', async (t) => {
  for (const text of ['{"a":[1,2', '{"a":"open string', '{"a":1']) {
    const scanner = new JsonScanner(bytes(text), 16, true)
    scanner.scan()
    t.notOk(scanner.complete, text)
  }
  const array = new JsonScanner(bytes('[1,2,3]'), 16, true)
  array.scan()
  t.ok(array.complete)
  t.notOk(array.topLevelObject)
  t.same(array.arrays, [])
})

t.test('past maxCommas only the count grows', async (t) => {
  const scanner = new JsonScanner(bytes(`{"a":[${'1,'.repeat(99)}1]}`), 16, true, 10)
  scanner.scan()
  t.equal(scanner.arrays[0].commaCount, 99)
  t.equal(scanner.arrays[0].commas.length, 10)
})
