// The npm package as a user gets it: `npm pack ./pkg`, installed into a fresh app, then
// loaded (1) from a plain <script type="module"> page with no bundler and (2) from an
// esbuild bundle with no plugin or wasm configuration. Each page runs in Chromium and
// reports what the app would see. No realm server is needed: these pages only init
// without a session and build a login URL.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { staticServer } from '../support/static-server.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
let dir, server, baseUrl, browser

const appSource = `
import Keycloak, { NetworkError } from 'keycloak-wasm'
const out = {}
try { new Keycloak() } catch (e) { out.noConfig = e.message }
const keycloak = new Keycloak({ url: 'http://idp.localhost:9', realm: 'demo', clientId: 'demo-app' })
const { init, createLoginUrl } = keycloak
out.initialized = await init({ checkLoginIframe: false })
out.authenticated = keycloak.authenticated
const url = new URL(await createLoginUrl({ loginHint: 'alice' }))
out.loginPath = url.pathname
out.params = [...url.searchParams.keys()]
out.networkError = NetworkError.prototype instanceof Error
window.result = out
`

async function runPage (pagePath) {
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  try {
    await page.goto(`${baseUrl}${pagePath}`)
    await page.waitForFunction(() => window.result, null, { timeout: 15000 })
    return await page.evaluate(() => window.result)
  } catch (e) {
    throw new Error(`${pagePath}: ${e.message}; page errors: ${errors.join(' | ')}`)
  } finally {
    await page.close()
  }
}

function assertApp (r) {
  assert.equal(r.noConfig, "The 'Keycloak' constructor must be provided with a configuration object, or a URL to a JSON configuration file.")
  assert.equal(r.initialized, false)
  assert.equal(r.authenticated, false)
  assert.equal(r.loginPath, '/realms/demo/protocol/openid-connect/auth')
  assert.deepEqual(r.params, ['client_id', 'redirect_uri', 'state', 'response_mode', 'response_type', 'scope', 'nonce', 'login_hint', 'code_challenge', 'code_challenge_method'])
  assert.equal(r.networkError, true)
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'kw-package-'))
  const packed = execFileSync('npm', ['pack', path.join(root, 'pkg'), '--pack-destination', dir, '--json'], { encoding: 'utf8' })
  const [{ filename, files }] = JSON.parse(packed)
  writeFileSync(path.join(dir, 'packed-files.json'), JSON.stringify(files.map((f) => f.path).sort()))
  // A fresh app that depends on the tarball, installed offline (the package has no dependencies).
  const app = path.join(dir, 'app')
  mkdirSync(app)
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(dir, path.basename(filename))], { cwd: app, stdio: 'pipe' })
  writeFileSync(path.join(app, 'main.js'), appSource)
  // (1) no bundler: the page maps the bare specifier to the installed package's entry.
  writeFileSync(path.join(app, 'plain.html'), `<!doctype html><script type="importmap">{"imports":{"keycloak-wasm":"/node_modules/keycloak-wasm/keycloak.js"}}</script><script type="module" src="/main.js"></script>`)
  // (3) a classic <script src> that defines window.Keycloak, then an inline classic script.
  writeFileSync(path.join(app, 'classic.html'), `<!doctype html><script src="/node_modules/keycloak-wasm/keycloak.global.js"></script><script>
    (async () => { const Keycloak = window.Keycloak; const NetworkError = Keycloak.NetworkError; ${appSource.split('\n').filter((l) => !l.startsWith('import ')).join('\n')} })()
  </script>`)
  // (2) esbuild, default options only.
  execFileSync(path.join(root, 'node_modules/.bin/esbuild'), ['main.js', '--bundle', '--format=esm', '--outfile=dist/bundle.js', '--log-level=error'], { cwd: app })
  writeFileSync(path.join(app, 'bundled.html'), '<!doctype html><script type="module" src="/dist/bundle.js"></script>')
  server = staticServer(app).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  baseUrl = `http://localhost:${server.address().port}`
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'] })
})

after(async () => {
  await browser?.close()
  server?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('npm package', () => {
  test('npm pack ships the ESM, CommonJS and classic-script builds, types and README', () => {
    const files = JSON.parse(readFileSync(path.join(dir, 'packed-files.json'), 'utf8'))
    assert.deepEqual(files, ['README.md', 'capacitor.d.ts', 'capacitor.js', 'keycloak.cjs', 'keycloak.d.ts', 'keycloak.global.js', 'keycloak.js', 'package.json'])
  })

  test('works from a plain <script type="module"> page, no bundler', async () => {
    assertApp(await runPage('/plain.html'))
  })

  test('require() and import work in Node with no DOM (as in unit tests); constructing does not throw', () => {
    const appDir = path.join(dir, 'app')
    const probe = `
      const fromRequire = require('keycloak-wasm')
      import('keycloak-wasm').then((m) => {
        const K = fromRequire.default
        const kc = new K({ url: 'http://idp.test', realm: 'r', clientId: 'c' })
        console.log(JSON.stringify({ require: typeof K, named: typeof fromRequire.NetworkError, esm: typeof m.default, authenticated: kc.authenticated, role: kc.hasRealmRole('x') }))
      })`
    const out = execFileSync(process.execPath, ['-e', probe], { cwd: appDir, encoding: 'utf8' })
    assert.deepEqual(JSON.parse(out), { require: 'function', named: 'function', esm: 'function', authenticated: false, role: false })
  })

  test('works from a classic <script src> as window.Keycloak', async () => {
    assertApp(await runPage('/classic.html'))
  })

  test('works from an esbuild bundle with no plugin or wasm config', async () => {
    assertApp(await runPage('/bundled.html'))
  })
})

describe('TypeScript', () => {
  const tsc = (project) => execFileSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', path.join(root, 'tests/types', project)], { encoding: 'utf8' })

  test('a file using the whole keycloak-js API type-checks against keycloak-js', () => {
    tsc('tsconfig.keycloak-js.json')
  })

  test('the same file type-checks against keycloak-wasm', () => {
    tsc('tsconfig.json')
  })

  test('our additions type-check: handleCallback, added options, a custom adapter, keycloak-wasm/capacitor', () => {
    tsc('tsconfig.extras.json')
  })
})
