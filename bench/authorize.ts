// npm run bench:authorize — the hot path against the ceiling, on a small data set.
import { seed, startStack } from './lib.js'
import { runSuite } from './suite.js'

const stack = await startStack()
try {
  const seeded = await seed(stack.url, { users: 1000, groups: 100, projectsPerGroup: 10, tokens: Number(process.env.BENCH_TOKENS ?? 200_000) })
  await runSuite(stack, seeded, { hot: 1000, seconds: Number(process.env.BENCH_SECONDS ?? 10), label: `small data set: 200,000 tokens, 1,100 namespaces (${new Date().toISOString().slice(0, 10)})` })
} finally {
  await stack.stop()
}
