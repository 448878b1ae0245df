// Installs what the build and the tests need and is missing on this machine:
// the wasm32 target, the npm dev dependencies (esbuild, binaryen's wasm-opt, zopfli, the
// reference keycloak-js, playwright-core, typescript), and (with --browser) Debian's Chromium.
// Each step is skipped when already satisfied, so running it again is cheap.
import { existsSync, readFileSync } from 'node:fs'
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

export function ensureBrowser () {
  if (existsSync('/usr/bin/chromium')) return
  if (process.getuid?.() !== 0) {
    throw new Error('Chromium is needed for the browser tests: install the Debian package "chromium" (apt-get install -y chromium), then run again.')
  }
  step('Installing Chromium (Debian package chromium)')
  run('apt-get', ['update', '-qq'])
  run('apt-get', ['install', '-y', '-qq', 'chromium'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
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
