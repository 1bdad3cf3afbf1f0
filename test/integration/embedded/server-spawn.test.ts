// A server binary that cannot be executed is an 'error' event on its child process, with no 'exit'
// after it. The embedded Redis and PgBouncer starts had no listener for it: the start died of an
// uncaught exception instead of saying which server did not start (embedded/children.ts, track).
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { exitOf, howItEnded, isRunning, stopRunningChildren, track } from '../../../src/embedded/children.js'

const settled = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('a missing binary: reported, not thrown, and nothing is left to stop', async (t) => {
  const child = spawn(join(tmpdir(), 'fgpat-no-such-server'), ['--port', '1'], { stdio: 'ignore' })
  track(child)
  await settled(100) // the spawn error arrives on the next tick
  t.notOk(isRunning(child), 'not running')
  t.match(howItEnded(child), /^could not be started \(spawn .*fgpat-no-such-server ENOENT\)$/, 'says why')
  const startedAt = Date.now()
  await stopRunningChildren(5000)
  await exitOf(child)
  t.ok(Date.now() - startedAt < 1000, 'stopping the servers does not wait for it')
})

t.test('a binary without the execute permission: reported with EACCES', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fgpat-spawn-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'server')
  writeFileSync(file, '#!/bin/sh\nexit 0\n')
  chmodSync(file, 0o644)
  const child = spawn(file, [], { stdio: 'ignore' })
  track(child)
  await settled(100)
  // root may execute a file without x bits only when some x bit is set: none is here.
  t.match(howItEnded(child), /^could not be started \(spawn .* EACCES\)$/, 'says why')
})

t.test('a server that ran and ended: its exit code or signal', async (t) => {
  const exited = spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' })
  track(exited)
  await exitOf(exited)
  t.equal(howItEnded(exited), 'exited with code 3')

  const killed = spawn('sleep', ['30'], { stdio: 'ignore' })
  track(killed)
  killed.kill('SIGKILL')
  await exitOf(killed)
  t.equal(howItEnded(killed), 'was killed by SIGKILL')
})
