import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { lazyChildLoggerFactory } from '../../src/http/lazy-logger.js'

function capture() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
  return { lines, logger: pino({ level: 'warn' }, stream) }
}
const factory = lazyChildLoggerFactory((url) => url === '/quiet')
const req = (url: string) => ({ url }) as never

t.test('a quiet path gets a stand-in that logs with the request bindings once used', async (t) => {
  const { lines, logger } = capture()
  const child = factory.call(null as never, logger, { reqId: 'r-1' }, {}, req('/quiet'))
  t.equal(child.level, 'warn', 'inherits the level')
  child.info('below the level')
  child.warn({ n: 1 }, 'kept')
  child.error('also kept')
  child.child({ extra: true }).warn('nested')
  await new Promise((r) => setImmediate(r))
  t.same(lines.map((l) => [l.msg, l.reqId]), [['kept', 'r-1'], ['also kept', 'r-1'], ['nested', 'r-1']])
  t.equal(lines[0].n, 1)
  t.equal(lines[2].extra, true)
})

t.test('other paths get a real pino child at once, with the route options', async (t) => {
  const { lines, logger } = capture()
  const child = factory.call(null as never, logger, { reqId: 'r-2' }, { level: 'info' }, req('/loud'))
  t.equal(child.level, 'info')
  child.info('logged at the route level')
  await new Promise((r) => setImmediate(r))
  t.same(lines.map((l) => [l.msg, l.reqId]), [['logged at the route level', 'r-2']])
})

t.test('the stand-in applies route options when it materializes', async (t) => {
  const { lines, logger } = capture()
  const child = factory.call(null as never, logger, { reqId: 'r-3' }, { level: 'info' }, req('/quiet'))
  child.info('info passes once the child exists with level info')
  await new Promise((r) => setImmediate(r))
  t.same(lines.map((l) => l.msg), ['info passes once the child exists with level info'])
})
