// Installs what the build and the tests need and is missing on this machine:
// the wasm32 target, the npm dev dependencies (esbuild, binaryen's wasm-opt, zopfli, the
// reference keycloak-js, playwright-core, selenium-webdriver, typescript), and (with --browser)
// the browsers: Debian's Chromium, Firefox ESR, WebKitGTK's WebDriver and Xvfb, and geckodriver.
// Each step is skipped when already satisfied, so running it again is cheap.
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { capture, root, run, step } from './lib.mjs'

function ensureWasmTarget () {
  const installed = capture('rustup', ['target', 'list', '--installed']) ?? ''
  if (!installed.split('\n').includes('wasm32-unknown-unknown')) {
    step('Installing the Rust target wasm32-unknown-unknown')
    run('rustup', ['target', 'add', 'wasm32-unknown-unknown'])
  }
}

function ensureNodeModules () {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
  const missing = Object.keys(pkg.devDependencies ?? {}).filter((d) => !existsSync(path.join(root, 'node_modules', d, 'package.json')))
  if (missing.length > 0) {
    step(`Installing npm dev dependencies (missing: ${missing.join(', ')})`)
    const lock = existsSync(path.join(root, 'package-lock.json'))
    run('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund'])
  }
}

// Debian packages the browser tests need, with a file each installs: Chromium (Playwright
// suites); Firefox ESR, WebKitGTK's WebDriver (with its MiniBrowser) and Xvfb (the
// cross-engine suite, tests/engines/).
const BROWSER_PACKAGES = [
  ['chromium', '/usr/bin/chromium'],
  ['firefox-esr', '/usr/bin/firefox-esr'],
  ['webkit2gtk-driver', '/usr/bin/WebKitWebDriver'],
  ['xvfb', '/usr/bin/Xvfb']
]
// geckodriver (Firefox's WebDriver server) comes from crates.io, built with cargo.
const GECKODRIVER_VERSION = '0.36.0'

function hasGeckodriver () {
  const found = capture('geckodriver', ['--version']) ?? capture(path.join(os.homedir(), '.cargo/bin/geckodriver'), ['--version'])
  return found?.startsWith(`geckodriver ${GECKODRIVER_VERSION}`) ?? false
}

export function ensureBrowser () {
  const missing = BROWSER_PACKAGES.filter(([, file]) => !existsSync(file)).map(([name]) => name)
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) {
      throw new Error(`The browser tests need the Debian packages ${missing.join(', ')}: apt-get install -y ${missing.join(' ')}, then run again.`)
    }
    step(`Installing ${missing.join(', ')} (Debian packages)`)
    run('apt-get', ['update', '-qq'])
    run('apt-get', ['install', '-y', '-qq', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  }
  if (!hasGeckodriver()) {
    step(`Installing geckodriver ${GECKODRIVER_VERSION} (cargo install)`)
    run('cargo', ['install', 'geckodriver', '--version', GECKODRIVER_VERSION])
  }
}

export function setup ({ browser = false } = {}) {
  ensureWasmTarget()
  ensureNodeModules()
  if (browser) ensureBrowser()
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    setup({ browser: process.argv.includes('--browser') })
    console.log('setup: everything needed is installed')
  } catch (e) {
    console.error(`setup failed: ${e.message}`)
    process.exit(1)
  }
}
