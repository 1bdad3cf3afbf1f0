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

export function ensurePythonGitlab() {
  if (hasPythonGitlab() || process.getuid?.() !== 0) return
  try {
    execSync('command -v apt-get', { stdio: 'ignore', shell: '/bin/sh' })
  } catch {
    return
  }
  console.error('[fgpat] python3-gitlab not found; installing it from the OS packages (apt-get install python3-gitlab)')
  try {
    execSync('apt-get update -qq && apt-get install -y -qq python3-gitlab >/dev/null', {
      stdio: ['ignore', 'ignore', 'inherit'], shell: '/bin/sh', timeout: 180_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
  } catch (err) {
    console.error(`[fgpat] could not install python3-gitlab (${err.message.split('\n')[0]}); its test will skip`)
  }
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
  if (process.env.CHROMIUM_PATH || hasChromium() || process.getuid?.() !== 0) return
  try {
    execSync('command -v apt-get', { stdio: 'ignore', shell: '/bin/sh' })
  } catch {
    return
  }
  console.error('[fgpat] chromium not found; installing it from the OS packages for the console tests (apt-get install chromium)')
  try {
    execSync('apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)', {
      stdio: ['ignore', 'ignore', 'inherit'], shell: '/bin/sh', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
  } catch (err) {
    console.error(`[fgpat] could not install chromium (${err.message.split('\n')[0]}); the console tests will fail until it is installed`)
  }
}
