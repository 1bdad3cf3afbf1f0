// npm run bench:authorize:scale — the same table at 1,000,000 tokens over 100,000 namespaces.
import { seed, startStack } from './lib.js'
import { runSuite } from './suite.js'

const stack = await startStack()
try {
  const seeded = await seed(stack.url, { users: 100_000, groups: 10_000, projectsPerGroup: 9, tokens: 1_000_000 })
  await runSuite(stack, seeded, { hot: 1000, seconds: Number(process.env.BENCH_SECONDS ?? 10), label: `1,000,000 tokens, 100,000 namespaces (${new Date().toISOString().slice(0, 10)})` })
} finally {
  await stack.stop()
}
