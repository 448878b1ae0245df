// The package in the bundlers SPAs use, with no plugin and no wasm configuration: the
// sample app in tests/bundlers/app is built by Vite and by webpack 5 (keycloak-wasm
// linked from pkg/ as an installed dependency), each build is served on app.localhost and
// driven in Chromium through a real login against the realm server on idp.localhost.
// Then Vitest + jsdom imports and mocks the package (tests/bundlers/unit).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { launchBrowser, newPage } from '../support/browser.mjs'
import { demoRealm } from '../../scripts/serve/demo-realm.mjs'
import { ensureRealmBuilt, startRealm } from '../../scripts/serve/realm.mjs'
import { staticServer } from '../support/static-server.mjs'
import { fillLogin } from '../support/api-helpers.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const fixtures = path.join(root, 'tests/bundlers')
if (!existsSync(path.join(fixtures, 'node_modules/vite'))) {
  // `npm install` with the committed lock (npm 11's `npm ci` rejects this lock over the
  // optional platform packages of a nested rollup; install resolves the same tree).
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: fixtures, stdio: 'inherit' })
}
const requireFixture = createRequire(path.join(fixtures, 'package.json'))
const fixtureImport = (name) => import(pathToFileURL(requireFixture.resolve(name)).href)

let out, server, origin, realm, realmUrl, browser, dir

async function buildVite () {
  const { build } = await fixtureImport('vite')
  await build({ root: path.join(fixtures, 'app'), base: '/vite/', logLevel: 'error', build: { outDir: path.join(out, 'vite'), emptyOutDir: true } })
}

// The React example lives in www/; it is copied next to the fixtures' node_modules so that
// react and @react-keycloak/web resolve as in an app.
async function buildReact () {
  const { build } = await fixtureImport('vite')
  const src = mkdtempSync(path.join(fixtures, '.react-'))
  try {
    cpSync(path.join(root, 'www/examples/react'), src, { recursive: true })
    await build({ root: src, base: '/react/', logLevel: 'error', build: { outDir: path.join(out, 'react'), emptyOutDir: true } })
  } finally {
    rmSync(src, { recursive: true, force: true })
  }
}

async function buildWebpack () {
  const { default: webpack } = await fixtureImport('webpack')
  const stats = await new Promise((resolve, reject) => webpack({
    mode: 'production',
    context: path.join(fixtures, 'app'),
    entry: './main.js',
    output: { path: path.join(out, 'webpack'), filename: 'main.js' }
  }, (err, s) => (err ? reject(err) : resolve(s))))
  if (stats.hasErrors()) throw new Error(stats.toString('errors-only'))
  writeFileSync(path.join(out, 'webpack/index.html'), readFileSync(path.join(fixtures, 'app/index.html'), 'utf8').replace('type="module" src="./main.js"', 'src="./main.js"'))
}

before(async () => {
  await ensureRealmBuilt()
  out = mkdtempSync(path.join(os.tmpdir(), 'kw-bundlers-'))
  await Promise.all([buildVite(), buildWebpack(), buildReact()])
  server = staticServer(out)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://app.localhost:${server.address().port}`
  dir = mkdtempSync(path.join(os.tmpdir(), 'kw-bundlers-realm-'))
  writeFileSync(path.join(dir, 'realm.json'), JSON.stringify(demoRealm(origin)))
  realm = await startRealm({ imports: [path.join(dir, 'realm.json')] })
  realmUrl = `http://idp.localhost:${realm.port}`
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await realm?.stop()
  await new Promise((resolve) => (server?.listening ? server.close(resolve) : resolve()))
  for (const d of [out, dir]) if (d) rmSync(d, { recursive: true, force: true })
})

/** The biggest JavaScript file of a build: the chunk with the adapter in it. */
// The app's scripts by what they hold: the adapter (our inlined wasm), and the additions'
// chunk (their effects), which a bundler that splits code keeps apart.
const ADDITIONS = 'The DPoP proof was not signed in time.'
function chunks (dist) {
  const files = execFileSync('find', [dist, '-name', '*.js'], { encoding: 'utf8' }).trim().split('\n')
  const read = files.map((f) => ({ f, text: readFileSync(f, 'utf8') }))
  const size = ({ f, text }) => ({ name: path.basename(f), raw: text.length, gzip: gzipSync(readFileSync(f), { level: 9 }).length })
  return {
    adapter: read.filter((x) => !x.text.includes(ADDITIONS)).sort((a, b) => b.text.length - a.text.length).map(size)[0],
    additions: read.filter((x) => x.text.includes(ADDITIONS)).map(size)
  }
}

describe('the built sample app logs in, with no bundler configuration for the wasm', () => {
  for (const bundler of ['vite', 'webpack']) {
    test(`${bundler}: check-sso, then a login through the realm's form`, async () => {
      const page = await newPage(browser)
      await page.goto(`${origin}/blank`)
      await page.evaluate((c) => sessionStorage.setItem('sample.config', JSON.stringify(c)), { url: realmUrl, realm: 'demo', clientId: 'demo-app' })
      const scripts = []
      page.on('request', (r) => { if (r.resourceType() === 'script') scripts.push(path.basename(new URL(r.url()).pathname)) })
      await page.goto(`${origin}/${bundler}/`)
      await page.locator('#status', { hasText: 'not authenticated' }).waitFor()
      await page.click('#login')
      await fillLogin(page)
      await page.locator('#status', { hasText: 'authenticated as alice (role user)' }).waitFor()
      assert.deepEqual(page.errors, [])
      const { adapter, additions } = chunks(path.join(out, bundler))
      console.log(`# ${bundler} build: adapter chunk ${adapter.raw} B, ${adapter.gzip} B gzip; the additions' chunk ${additions.map((c) => `${c.raw} B, ${c.gzip} B gzip`).join('; ')}`)
      // The additions are a chunk of their own, which an app that uses none never loads.
      assert.equal(additions.length, 1, `one chunk holds the additions: ${JSON.stringify(additions)}`)
      assert.ok(!scripts.includes(additions[0].name), `not loaded: ${scripts}`)
      await page.context().close()
    })
  }
})

test('React: www/examples/react with @react-keycloak/web, unchanged, logs in and out', async () => {
  const page = await newPage(browser)
  await page.goto(`${origin}/blank`)
  await page.evaluate((c) => sessionStorage.setItem('sample.config', JSON.stringify(c)), { url: realmUrl, realm: 'demo', clientId: 'demo-app' })
  await page.goto(`${origin}/react/`)
  await page.locator('#status', { hasText: 'not authenticated' }).waitFor()
  await page.click('#login')
  await fillLogin(page)
  await page.locator('#status', { hasText: 'authenticated as alice' }).waitFor()
  await page.click('#logout')
  await page.locator('#status', { hasText: 'not authenticated' }).waitFor()
  assert.deepEqual(page.errors, [])
  await page.context().close()
})

// `npm run dev`, where an app starts: Vite pre-bundles the package with esbuild into its
// deps cache (only for a package installed as a folder, as from the registry; a linked one
// is served as it is), its additions' chunk included.
test('Vite\'s dev server (dependencies pre-bundled): the package and its additions\' chunk load, init settles', async () => {
  const { createServer } = await fixtureImport('vite')
  const src = mkdtempSync(path.join(fixtures, '.dev-'))
  let server
  try {
    const manifest = JSON.parse(readFileSync(path.join(root, 'pkg/package.json'), 'utf8'))
    mkdirSync(path.join(src, 'node_modules/keycloak-wasm'), { recursive: true })
    for (const f of [...manifest.files, 'package.json']) cpSync(path.join(root, 'pkg', f), path.join(src, 'node_modules/keycloak-wasm', f))
    writeFileSync(path.join(src, 'index.html'), '<!doctype html><p id="status">loading</p><script type="module" src="./main.js"></script>')
    // verifyTokens needs the additions: the default module loads their chunk, then init
    // resolves with no request (no onLoad).
    writeFileSync(path.join(src, 'main.js'), `import Keycloak from 'keycloak-wasm'
new Keycloak({ url: 'http://idp.invalid', realm: 'r', clientId: 'c' }).init({ checkLoginIframe: false, verifyTokens: true })
  .then((a) => { document.getElementById('status').textContent = 'resolved ' + a }, (e) => { document.getElementById('status').textContent = 'rejected: ' + e.message })
`)
    server = await createServer({ root: src, cacheDir: path.join(src, '.vite'), logLevel: 'error', server: { host: '127.0.0.1', port: 0 } })
    await server.listen()
    const page = await newPage(browser)
    const scripts = []
    page.on('response', (r) => { if (r.request().resourceType() === 'script') scripts.push(new URL(r.url()).pathname) })
    await page.goto(server.resolvedUrls.local[0])
    await page.locator('#status', { hasText: /^(resolved|rejected)/ }).waitFor({ timeout: 30000 })
    assert.equal(await page.textContent('#status'), 'resolved false')
    assert.ok(scripts.some((s) => /\/\.vite\/deps\/keycloak-wasm\.js$/.test(s)), `pre-bundled: ${scripts.join(' ')}`)
    assert.ok(scripts.some((s) => /\/\.vite\/deps\/keycloak\.extras-[^/]*\.js$/.test(s)), `the additions' chunk, pre-bundled: ${scripts.join(' ')}`)
    assert.deepEqual(page.errors, [])
    await page.context().close()
  } finally {
    await server?.close()
    rmSync(src, { recursive: true, force: true })
  }
})

test('Vitest + jsdom: importing the package starts nothing, and a test can mock it', () => {
  const output = execFileSync(path.join(fixtures, 'node_modules/.bin/vitest'), ['run', '--reporter=dot'], { cwd: fixtures, encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' } })
  assert.match(output, /Tests\s+3 passed \(3\)/)
})
