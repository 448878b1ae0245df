// Installs what the build and the tests need and is missing on this machine:
// the wasm32 target, the wasm-bindgen CLI at the version pinned in Cargo.toml, the npm
// dev dependencies, and (with --browser) Debian's Chromium and ChromeDriver.
// Each step is skipped when already satisfied, so running it again is cheap.
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { capture, root, run, step } from './lib.mjs'

export function pinnedWasmBindgenVersion () {
  const toml = readFileSync(path.join(root, 'Cargo.toml'), 'utf8')
  const m = toml.match(/^wasm-bindgen\s*=\s*"=([0-9.]+)"/m)
  if (!m) throw new Error('Cargo.toml must pin wasm-bindgen with "=x.y.z"')
  return m[1]
}

function ensureWasmTarget () {
  const installed = capture('rustup', ['target', 'list', '--installed']) ?? ''
  if (!installed.split('\n').includes('wasm32-unknown-unknown')) {
    step('Installing the Rust target wasm32-unknown-unknown')
    run('rustup', ['target', 'add', 'wasm32-unknown-unknown'])
  }
}

function ensureWasmBindgen () {
  const want = pinnedWasmBindgenVersion()
  const have = capture('wasm-bindgen', ['--version'])?.split(' ')[1]
  if (have !== want) {
    step(`Installing wasm-bindgen-cli ${want} (found ${have ?? 'none'}; takes a few minutes once)`)
    run('cargo', ['install', 'wasm-bindgen-cli', '--version', `=${want}`, '--force'])
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

export function ensureBrowser () {
  if (existsSync('/usr/bin/chromium') && existsSync('/usr/bin/chromedriver')) return
  if (process.getuid?.() !== 0) {
    throw new Error('Chromium is needed for the browser tests: install the Debian packages "chromium" and "chromium-driver" (apt-get install -y chromium chromium-driver), then run again.')
  }
  step('Installing Chromium and ChromeDriver (Debian packages chromium, chromium-driver)')
  run('apt-get', ['update', '-qq'])
  run('apt-get', ['install', '-y', '-qq', 'chromium', 'chromium-driver'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

export function setup ({ browser = false } = {}) {
  ensureWasmTarget()
  ensureWasmBindgen()
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
