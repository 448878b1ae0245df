// The wrappers written for keycloak-js, with keycloak-wasm installed under the name
// keycloak-js as pkg/README.md tells users to: www/examples/angular (keycloak-angular:
// provideKeycloak, the bearer interceptor, createAuthGuard) and www/examples/vue
// (@josempgon/vue-keycloak: its plugin, getToken, hasRoles in a vue-router guard).
//
// Each example is installed from its committed lock (`npm ci` in its folder, once: the
// node_modules there is kept) and built twice with its own tooling (the Angular CLI, Vite):
//   keycloak-js    in the example's folder, with the real keycloak-js 26.2.4 it lists;
//   keycloak-wasm  in a copy of the installed project, after the user's one change: its
//                  package.json's keycloak-js becomes the packed local keycloak-wasm
//                  (`file:<tarball>`, which the registry alias `npm:keycloak-wasm@<v>`
//                  stands for until the package is published; the `overrides` entry
//                  `"keycloak-js": "$keycloak-js"` is already there), then `npm install`.
// Both builds are served on app.localhost with the demo realm on idp.localhost and driven
// through the same scenario; the keycloak-js run shows what the test asserts is the
// wrapper's behaviour, not ours. Which package ran is asserted twice: the bundle holds
// the wasm (or not), and the instance the wrapper made has keycloak-wasm's
// handleCallback (keycloak-js has none).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { launchBrowser, newPage } from '../support/browser.mjs'
import { ALICE, TOKEN_ENDPOINT, fillLogin, recordRequests, until } from '../support/api-helpers.mjs'
import { pack, root } from '../support/packed.mjs'
import { staticServer } from '../support/static-server.mjs'
import { demoRealm } from '../../scripts/serve/demo-realm.mjs'
import { ensureRealmBuilt, startRealm } from '../../scripts/serve/realm.mjs'

const BOB = { username: 'bob', password: 'bob' } // the demo realm's user without the role "user"

const EXAMPLES = [
  {
    name: 'angular',
    wrapper: 'keycloak-angular',
    // The application builder writes the browser files to <output-path>/browser.
    build (cwd, base, out) {
      npm(cwd, ['run', 'build', '--', '--base-href', base, '--output-path', `${out}.ng`])
      renameSync(path.join(`${out}.ng`, 'browser'), out)
      rmSync(`${out}.ng`, { recursive: true, force: true })
    }
  },
  {
    name: 'vue',
    wrapper: '@josempgon/vue-keycloak',
    build: (cwd, base, out) => npm(cwd, ['run', 'build', '--', '--base', base, '--outDir', out, '--emptyOutDir'])
  }
]
const IMPLS = ['keycloak-wasm', 'keycloak-js']
// EXAMPLES=vue (a comma-separated list of names) builds and runs only those, while working on one.
const only = process.env.EXAMPLES?.split(',')
const examples = EXAMPLES.filter((ex) => !only || only.includes(ex.name))

function npm (cwd, args) {
  try {
    return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NG_CLI_ANALYTICS: 'false' } })
  } catch (e) {
    throw new Error(`npm ${args.join(' ')} in ${cwd} failed:\n${e.stdout}\n${e.stderr}`)
  }
}

function timed (times, label, fn) {
  const t = Date.now()
  const result = fn()
  times.push(`${label} ${((Date.now() - t) / 1000).toFixed(1)} s`)
  return result
}

/** `npm ci` in the example's folder when its node_modules is missing or older than its lock. */
function ensureInstalled (dir, times) {
  const installed = path.join(dir, 'node_modules/.package-lock.json')
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(path.join(dir, 'package-lock.json')).mtimeMs) return
  timed(times, 'npm ci', () => npm(dir, ['ci', '--no-audit', '--no-fund']))
}

/**
 * The user's switch to keycloak-wasm: a copy of the installed project in `app` (outside
 * the repository, so nothing resolves to the workspace's node_modules), its keycloak-js
 * dependency pointed at the tarball, `npm install`. Returns the lock's keycloak-js entries.
 */
function installAlias (dir, app, tarball) {
  execFileSync('cp', ['-a', dir, app]) // node_modules too, with its relative symlinks
  const file = path.join(app, 'package.json')
  const pkg = JSON.parse(readFileSync(file, 'utf8'))
  assert.deepEqual(pkg.overrides, { 'keycloak-js': '$keycloak-js' }, 'the example carries the overrides entry the README shows')
  pkg.dependencies['keycloak-js'] = `file:${tarball}`
  writeFileSync(file, JSON.stringify(pkg, null, 2))
  npm(app, ['install', '--offline', '--no-audit', '--no-fund'])
  const lock = JSON.parse(readFileSync(path.join(app, 'package-lock.json'), 'utf8'))
  return Object.entries(lock.packages).filter(([k]) => k.endsWith('node_modules/keycloak-js')).map(([k, v]) => [k, v.name ?? 'keycloak-js'])
}

/** The JavaScript files of a build, concatenated. */
const bundle = (dir) => readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.js')).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n')

let packed, out, server, origin, realm, realmUrl, browser
const aliased = {} // example name -> the lock's keycloak-js entries in the keycloak-wasm copy
// A slice of the inlined wasm (base64), which only a build with keycloak-wasm contains.
const wasmMarker = () => /'([A-Za-z0-9+/]{4000,})/.exec(readFileSync(path.join(root, 'pkg/keycloak_wasm_bytes.js'), 'utf8'))[1].slice(2000, 2064)

before(async () => {
  await ensureRealmBuilt()
  packed = pack('kw-wrappers-')
  out = path.join(packed.dir, 'www')
  mkdirSync(out)
  for (const ex of examples) {
    const dir = path.join(root, 'www/examples', ex.name)
    const times = []
    ensureInstalled(dir, times)
    timed(times, 'build with keycloak-js', () => ex.build(dir, `/${ex.name}-keycloak-js/`, path.join(out, `${ex.name}-keycloak-js`)))
    const app = path.join(packed.dir, ex.name)
    aliased[ex.name] = timed(times, 'copy + alias install', () => installAlias(dir, app, packed.tarball))
    timed(times, 'build with keycloak-wasm', () => ex.build(app, `/${ex.name}-keycloak-wasm/`, path.join(out, `${ex.name}-keycloak-wasm`)))
    console.log(`# ${ex.name}: ${times.join(', ')}`)
  }
  server = staticServer(out, { spa: true })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://app.localhost:${server.address().port}`
  writeFileSync(path.join(packed.dir, 'realm.json'), JSON.stringify(demoRealm(origin)))
  realm = await startRealm({ imports: [path.join(packed.dir, 'realm.json')] })
  realmUrl = `http://idp.localhost:${realm.port}`
  browser = await launchBrowser()
}, { timeout: 900_000 })

after(async () => {
  await browser?.close()
  await realm?.stop()
  await new Promise((resolve) => (server?.listening ? server.close(resolve) : resolve()))
  packed?.remove()
})

/** A fresh page on the example's start page, pointed at the test realm; not logged in, with the package `impl`. */
async function openExample (name, impl) {
  const page = await newPage(browser)
  await page.goto(`${origin}/blank`)
  await page.evaluate((c) => sessionStorage.setItem('sample.config', JSON.stringify(c)), { url: realmUrl, realm: 'demo', clientId: 'demo-app' })
  await page.goto(`${origin}/${name}-${impl}/`)
  await page.locator('#status', { hasText: 'not authenticated' }).waitFor()
  // The instance the wrapper created is the package npm installed.
  assert.equal(await page.evaluate(() => typeof window.keycloak.handleCallback), impl === 'keycloak-wasm' ? 'function' : 'undefined')
  return page
}

/** The Authorization headers of the app's requests to the userinfo endpoint (the API). */
function apiCalls (page) {
  const calls = []
  page.on('request', (r) => { if (r.url().endsWith('/protocol/openid-connect/userinfo') && r.method() === 'GET') calls.push(r.headers().authorization) })
  return calls
}

const pathOf = (page) => new URL(page.url()).pathname
const token = (page) => page.evaluate(() => window.keycloak.token)

for (const ex of examples) {
  describe(`${ex.wrapper} (www/examples/${ex.name})`, { timeout: 120_000 }, () => {
    test('the keycloak-wasm build got keycloak-wasm, through the alias, for the wrapper too', () => {
      // Every keycloak-js in the installed tree is keycloak-wasm (none nested under the wrapper).
      assert.deepEqual(aliased[ex.name], [['node_modules/keycloak-js', 'keycloak-wasm']])
      const marker = wasmMarker()
      assert.ok(bundle(path.join(out, `${ex.name}-keycloak-wasm`)).includes(marker), 'the bundle inlines the wasm')
      assert.ok(!bundle(path.join(out, `${ex.name}-keycloak-js`)).includes(marker), 'the keycloak-js build has no wasm')
    })

    for (const impl of IMPLS) {
      test(`[${impl}] guarded route -> login -> API with the bearer token -> refresh -> logout`, async () => {
        const page = await openExample(ex.name, impl)
        const base = `/${ex.name}-${impl}/`
        const calls = apiCalls(page)
        const tokens = recordRequests(page, TOKEN_ENDPOINT)

        // Not logged in: the guard sends the visitor to the realm, and back to the route.
        await page.click('#reports')
        await fillLogin(page, ALICE)
        await page.locator('#page', { hasText: /^reports$/ }).waitFor()
        assert.equal(pathOf(page), `${base}reports`)
        assert.equal(await page.locator('#status').textContent(), 'authenticated as alice')
        // The API answered: the request carried the user's current token.
        await page.locator('#api', { hasText: 'API says: alice <alice@example.com>' }).waitFor()
        const first = await token(page)
        assert.deepEqual(calls, [`Bearer ${first}`])

        // Refresh: a refresh_token grant, a new token, shown by the app.
        assert.equal(await page.locator('#token').textContent(), first.slice(-16))
        const before = tokens.length
        await page.click('#refresh')
        await page.locator('#token', { hasNotText: first.slice(-16) }).waitFor()
        const second = await token(page)
        assert.notEqual(second, first)
        assert.equal(await page.locator('#token').textContent(), second.slice(-16))
        assert.equal(tokens.length, before + 1)
        assert.match(tokens.at(-1).postData, /grant_type=refresh_token/)
        // The next API call carries the new token.
        await page.click('#home')
        await page.locator('#page', { hasText: /^home$/ }).waitFor()
        await page.click('#reports')
        await page.locator('#api', { hasText: 'API says: alice' }).waitFor()
        assert.deepEqual(calls, [`Bearer ${first}`, `Bearer ${second}`])

        // Logout: back on the app's start page, not authenticated, and the realm session is
        // gone (the guarded route asks for the password again).
        await page.click('#logout')
        await page.waitForURL((u) => u.hostname === 'app.localhost' && u.pathname === base)
        await page.locator('#status', { hasText: 'not authenticated' }).waitFor()
        assert.equal(await page.evaluate(() => window.keycloak.authenticated), false)
        await page.click('#reports')
        await page.locator('#kc-form-login').waitFor()
        assert.deepEqual(page.errors, [])
        await page.context().close()
      })

      test(`[${impl}] a user without the role is refused by the guard, also on a direct link`, async () => {
        const page = await openExample(ex.name, impl)
        const calls = apiCalls(page)
        await page.click('#reports')
        await fillLogin(page, BOB)
        await page.locator('#page', { hasText: /^forbidden:/ }).waitFor()
        assert.equal(pathOf(page), `/${ex.name}-${impl}/forbidden`)
        assert.equal(await page.locator('#status').textContent(), 'authenticated as bob')
        // Loading the route's URL runs the guard again (after the silent check-sso).
        await page.goto(`${origin}/${ex.name}-${impl}/reports`)
        await page.locator('#page', { hasText: /^forbidden:/ }).waitFor()
        assert.ok(await until(() => pathOf(page).endsWith('/forbidden')), pathOf(page))
        assert.deepEqual(calls, [], 'the reports page never called the API')
        assert.deepEqual(page.errors, [])
        await page.context().close()
      })
    }
  })
}
