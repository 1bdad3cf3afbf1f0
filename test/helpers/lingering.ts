// Names what keeps a test process alive after its last test. tap waits for the file's process to
// exit; a socket or child left open makes it hang until tap's file timeout (3 min), which says
// nothing about the cause. The timer is unref'd: it fires only if something else holds the process.
interface Root {
  teardown: (fn: () => unknown) => void
}

const GRACE_MS = 15_000

export function reportLingering(t: Root, graceMs = GRACE_MS): void {
  t.teardown(() => {
    setTimeout(() => {
      process.stderr.write(`still alive ${graceMs} ms after the last test; what holds it:\n${describeHandles().join('\n')}\n`)
      // Exit now: the file fails here, with the list above, rather than at tap's timeout.
      process.exit(1)
    }, graceMs).unref()
  })
}

function describeHandles(): string[] {
  const lines = [`  resources: ${process.getActiveResourcesInfo().join(', ')}`]
  // _getActiveHandles is undocumented but stable since Node 0.x; only read here, for the message.
  const handles = (process as unknown as { _getActiveHandles: () => unknown[] })._getActiveHandles()
  for (const h of handles) {
    const name = (h as object)?.constructor?.name ?? typeof h
    const s = h as { localPort?: number; remotePort?: number; remoteAddress?: string; pid?: number; spawnargs?: string[]; connecting?: boolean; destroyed?: boolean }
    if (name === 'Socket' || name === 'TLSSocket') {
      lines.push(`  ${name} ${s.localPort ?? '?'} -> ${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}${s.connecting ? ' (connecting)' : ''}${s.destroyed ? ' (destroyed)' : ''}`)
    } else if (name === 'ChildProcess') {
      lines.push(`  ChildProcess ${s.pid}: ${(s.spawnargs ?? []).slice(0, 4).join(' ')}`)
    } else {
      lines.push(`  ${name}`)
    }
  }
  return lines
}
