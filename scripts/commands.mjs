// Running the build's commands, one at a time or side by side, from the repository's root, with their
// output on ours. Plain Node: it runs before node_modules exists (scripts/ensure.mjs) and in the
// Dockerfile's build stage.
import { execSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

export function run(cmd) {
  console.error(`[fgpat] ${cmd}`)
  execSync(cmd, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
}

/** As run, beside other commands: resolves when it succeeded, rejects when it failed. */
export function runBeside(cmd) {
  console.error(`[fgpat] ${cmd}`)
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, { cwd: root, shell: true, stdio: ['ignore', 'inherit', 'inherit'] })
    child.on('error', reject)
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${cmd}: ${signal ?? `exit code ${code}`}`))))
  })
}

/** Waits for every step (none is left running half-way), then fails with the first failure; a false step is skipped. */
export async function allOf(steps) {
  const failed = (await Promise.allSettled(steps)).find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
}
