// GitLab's own client libraries, for the tests that drive this service with them (issue 13: "driven
// through GitLab's client libraries"). @gitbeaker/rest comes with the dev dependencies; Debian's
// python3-gitlab (python-gitlab 3.x, the one that parses only an exact `application/json`) is
// installed from the OS packages when missing and we may (root, apt-get present), as redis-server
// is. If that fails the suite still runs: tokens/python-gitlab.test.ts then skips and says why.
import { execSync } from 'node:child_process'

const hasPythonGitlab = () => {
  try {
    execSync('python3 -c "import gitlab" || /usr/bin/python3 -c "import gitlab"', { stdio: 'ignore', shell: '/bin/sh', timeout: 20_000 })
    return true
  } catch {
    return false
  }
}

/**
 * Installs a Debian package a test needs when it is missing and we may (root, apt-get present);
 * a failure is said, not thrown: the suite still runs and the tests that need it say why.
 */
function installFromOsPackages({ pkg, purpose, command, timeoutMs, ifFailed }) {
  if (process.getuid?.() !== 0) return
  try {
    execSync('command -v apt-get', { stdio: 'ignore', shell: '/bin/sh' })
  } catch {
    return
  }
  console.error(`[fgpat] ${pkg} not found; installing it from the OS packages${purpose} (apt-get install ${pkg})`)
  try {
    execSync(command, { stdio: ['ignore', 'ignore', 'inherit'], shell: '/bin/sh', timeout: timeoutMs, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  } catch (err) {
    console.error(`[fgpat] could not install ${pkg} (${err.message.split('\n')[0]}); ${ifFailed}`)
  }
}

export function ensurePythonGitlab() {
  if (hasPythonGitlab()) return
  installFromOsPackages({
    pkg: 'python3-gitlab', purpose: '', command: 'apt-get update -qq && apt-get install -y -qq python3-gitlab >/dev/null',
    timeoutMs: 180_000, ifFailed: 'its test will skip',
  })
}

// The console's end-to-end tests drive a real Chromium (Debian's `chromium`, ~35 s to install as
// root), as redis-server is installed. Without it those tests fail and say how to get it.
const hasChromium = () => {
  try {
    execSync('command -v chromium || command -v chromium-browser', { stdio: 'ignore', shell: '/bin/sh' })
    return true
  } catch {
    return false
  }
}

export function ensureChromium() {
  if (process.env.CHROMIUM_PATH || hasChromium()) return
  installFromOsPackages({
    pkg: 'chromium', purpose: ' for the console tests',
    command: 'apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)',
    timeoutMs: 300_000, ifFailed: 'the console tests will fail until it is installed',
  })
}
