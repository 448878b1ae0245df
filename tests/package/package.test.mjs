// The npm package as a user gets it: `npm pack ./pkg`, installed into a fresh app (offline,
// outside this repository), then loaded (1) from a plain <script type="module"> page with
// no bundler, (2) from an esbuild bundle with no plugin or wasm configuration, (3) from a
// classic <script src>, and in Node (import and require). Each page runs in Chromium and
// reports what the app would see. No realm server is needed: these pages only init
// without a session and build a login URL. Also: the package.json fields each kind of tool
// reads, installing it under the name keycloak-js for wrappers, and the browser support
// that pkg/README.md states.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { installApp, pack, root } from '../support/packed.mjs'
import { staticServer } from '../support/static-server.mjs'

let packed, app, server, baseUrl, browser

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
  packed = pack('kw-package-')
  app = installApp(packed)
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
  packed?.remove()
})

describe('npm package', () => {
  test('npm pack ships the ESM, CommonJS and classic-script builds, the additions\' chunk, authz\'s machine, types and README', () => {
    assert.deepEqual(packed.files, ['README.md', 'authz.d.ts', 'authz.min.js', 'capacitor.d.ts', 'capacitor.js', 'keycloak.authz.js', 'keycloak.cjs', 'keycloak.d.ts', 'keycloak.extras.js', 'keycloak.full.js', 'keycloak.global.js', 'keycloak.js', 'package.json'])
  })

  test('works from a plain <script type="module"> page, no bundler', async () => {
    assertApp(await runPage('/plain.html'))
  })

  test('require() and import work in Node with no DOM (as in unit tests); constructing does not throw', () => {
    const probe = `
      const fromRequire = require('keycloak-wasm')
      import('keycloak-wasm').then((m) => {
        const K = fromRequire.default
        const kc = new K({ url: 'http://idp.test', realm: 'r', clientId: 'c' })
        console.log(JSON.stringify({ require: typeof K, named: typeof fromRequire.NetworkError, esm: typeof m.default, authenticated: kc.authenticated, role: kc.hasRealmRole('x') }))
      })`
    const out = execFileSync(process.execPath, ['-e', probe], { cwd: app, encoding: 'utf8' })
    assert.deepEqual(JSON.parse(out), { require: 'function', named: 'function', esm: 'function', authenticated: false, role: false })
  })

  test('works from a classic <script src> as window.Keycloak', async () => {
    assertApp(await runPage('/classic.html'))
  })

  test('works from an esbuild bundle with no plugin or wasm config', async () => {
    assertApp(await runPage('/bundled.html'))
  })
})

describe('package.json: what each kind of tool reads', () => {
  const installed = () => path.join(app, 'node_modules/keycloak-wasm')
  const manifest = () => JSON.parse(readFileSync(path.join(installed(), 'package.json'), 'utf8'))

  test('publishing metadata is filled in', () => {
    const pkg = manifest()
    assert.equal(pkg.license, 'Apache-2.0')
    assert.match(pkg.repository.url, /^git\+https:\/\/github\.com\/[\w-]+\/[\w-]+\.git$/)
    assert.equal(pkg.repository.directory, 'pkg')
    assert.match(pkg.homepage, /^https:\/\//)
    assert.match(pkg.bugs.url, /^https:\/\/.*\/issues$/)
    assert.equal(pkg.engines.node, '>=18')
  })

  test('every file an entry field names is in the tarball; no `browser` field', () => {
    const pkg = manifest()
    const named = [pkg.main, pkg.module, pkg.unpkg, pkg.jsdelivr, pkg.types, ...JSON.stringify(pkg.exports).match(/"\.\/[^"]+\.[a-z.]+"/g).map((s) => JSON.parse(s))]
    for (const file of named) assert.ok(packed.files.includes(file.replace(/^\.\//, '')), `${file} is packed`)
    // Browserify, webpack 4 and Rollup's node-resolve prefer `browser` to module/main:
    // pointed at the classic-script build, their bundles would get a module exporting nothing.
    assert.equal(pkg.browser, undefined)
  })

  test('resolvers that read main or module instead of exports (Jest < 28, webpack 4, Node < 12.7) get the CommonJS and ESM builds', () => {
    const { main, module } = manifest()
    const probe = `
      const fromMain = require('./node_modules/keycloak-wasm/${main}')
      import('./node_modules/keycloak-wasm/${module}').then((m) => console.log(JSON.stringify({
        main: typeof fromMain.default, mainError: typeof fromMain.NetworkError, module: typeof m.default, moduleError: typeof m.NetworkError,
        instance: new fromMain.default({ url: 'http://idp.test', realm: 'r', clientId: 'c' }).authenticated
      })))`
    const out = execFileSync(process.execPath, ['-e', probe], { cwd: app, encoding: 'utf8' })
    assert.deepEqual(JSON.parse(out), { main: 'function', mainError: 'function', module: 'function', moduleError: 'function', instance: false })
  })

  test("a bundler keeps `import 'keycloak-wasm/global'` (sideEffects names the global build), which defines Keycloak", () => {
    writeFileSync(path.join(app, 'global-entry.js'), "import 'keycloak-wasm/global'\nconsole.log(typeof globalThis.Keycloak, typeof globalThis.Keycloak?.NetworkError)\n")
    execFileSync(path.join(root, 'node_modules/.bin/esbuild'), ['global-entry.js', '--bundle', '--format=esm', '--outfile=dist/global-entry.mjs', '--log-level=error'], { cwd: app })
    const out = execFileSync(process.execPath, ['dist/global-entry.mjs'], { cwd: app, encoding: 'utf8' })
    assert.equal(out.trim(), 'function function')
  })
})

// Wrappers written for keycloak-js (keycloak-angular, the Vue plugins) import 'keycloak-js'
// and declare it as a peer dependency with a version range. pkg/README.md tells apps to
// install keycloak-wasm under that name with an npm alias plus an `overrides` entry. The
// alias needs the registry, so the tarball stands in for it here (`keycloak-js@file:...`:
// the same install under another name, with keycloak-wasm's own version).
describe('installed under the name keycloak-js, for a wrapper that peers on keycloak-js', () => {
  let wrapper
  before(() => {
    const src = path.join(packed.dir, 'wrapper')
    mkdirSync(src)
    writeFileSync(path.join(src, 'package.json'), JSON.stringify({ name: 'keycloak-wrapper', version: '1.0.0', type: 'module', main: 'index.js', peerDependencies: { 'keycloak-js': '^18 || ^19 || ^20 || ^21 || ^22 || ^23 || ^24 || ^25 || ^26' } }))
    writeFileSync(path.join(src, 'index.js'), "import Keycloak from 'keycloak-js'\nexport const create = (config) => new Keycloak(config)\n")
    const [{ filename }] = JSON.parse(execFileSync('npm', ['pack', src, '--pack-destination', packed.dir, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))
    wrapper = path.join(packed.dir, filename)
  })

  const dependencies = () => ({ 'keycloak-js': `file:${packed.tarball}`, 'keycloak-wrapper': `file:${wrapper}` })

  test('without `overrides` npm refuses: the peer range is checked against our version', () => {
    assert.throws(() => installApp(packed, { name: 'alias-plain', pkg: { dependencies: dependencies() }, specs: [] }), (e) => /ERESOLVE/.test(e.stderr) && /peer keycloak-js@/.test(e.stderr))
  })

  test("with `overrides: { 'keycloak-js': '$keycloak-js' }` it installs, and the wrapper's keycloak-js is keycloak-wasm", () => {
    const dir = installApp(packed, { name: 'alias-overrides', pkg: { dependencies: dependencies(), overrides: { 'keycloak-js': '$keycloak-js' } }, specs: [] })
    const probe = "import { create } from 'keycloak-wrapper'\nconst kc = create({ url: 'http://idp.test', realm: 'r', clientId: 'c' })\nconsole.log(typeof kc.init, typeof kc.handleCallback)\n"
    writeFileSync(path.join(dir, 'probe.mjs'), probe)
    // handleCallback is ours only: keycloak-js has no such method.
    assert.equal(execFileSync(process.execPath, ['probe.mjs'], { cwd: dir, encoding: 'utf8' }).trim(), 'function function')
  })
})

// What pkg/README.md says about browsers, checked where it can be without old browsers: the
// JavaScript's syntax (esbuild lowers nothing for the stated versions) and the WebAssembly
// features the shipped wasm uses. The APIs' versions (DecompressionStream('deflate-raw'),
// AbortSignal.timeout, crypto.randomUUID) are MDN's browser-compat-data, cited there.
describe('browser support stated in pkg/README.md', () => {
  const readme = readFileSync(path.join(root, 'pkg/README.md'), 'utf8')
  const stated = /Oldest browsers: Chrome and Edge (\d+), Firefox (\d+), Safari ([\d.]+)/.exec(readme)
  const esbuild = (args) => execFileSync(path.join(root, 'node_modules/.bin/esbuild'), ['--bundle', '--minify', '--format=esm', '--log-level=error', ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 })

  test('the README names them', () => {
    assert.ok(stated, 'a line "Oldest browsers: Chrome and Edge N, Firefox N, Safari N"')
  })

  test('the JavaScript uses no syntax newer than those versions', () => {
    const target = `--target=chrome${stated[1]},firefox${stated[2]},safari${stated[3]}`
    for (const entry of [['pkg/facade.js'], ['pkg/capacitor.js', '--external:@capacitor/*'], ['pkg/authz.js']]) {
      assert.equal(esbuild([...entry, target]), esbuild(entry), `${entry[0]}: esbuild would lower something for ${target}`)
    }
    // The check has teeth: a version before class private methods gets lowered code.
    assert.notEqual(esbuild(['pkg/facade.js', '--target=chrome80']), esbuild(['pkg/facade.js']))
  })

  test('every need in the README\'s table is met by the stated oldest versions', () => {
    // The rows "| need | for | Chrome, Edge | Firefox | Safari |": the first number of each
    // browser cell is the version that brought it, and none may be newer than the floor.
    const lines = readme.slice(readme.indexOf('| the package needs |')).split('\n')
    const rows = lines.slice(2, lines.findIndex((l) => !l.startsWith('|'))).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()))
    assert.ok(rows.length >= 6, 'the table is there')
    const floor = [Number(stated[1]), Number(stated[2]), Number(stated[3])]
    for (const row of rows) {
      assert.equal(row.length, 5, `a row of five cells: ${row.join(' | ')}`)
      row.slice(2).forEach((cell, i) => {
        const version = Number(/(\d+(?:\.\d+)?)/.exec(cell)?.[1])
        assert.ok(version > 0, `a version in "${cell}" (${row[0]})`)
        assert.ok(version <= floor[i], `${row[0]}: ${['Chrome/Edge', 'Firefox', 'Safari'][i]} ${version} is newer than the stated oldest ${floor[i]}`)
      })
    }
    // The wasm's features have a row, and so does the API the wasm is inflated with.
    assert.ok(rows.some((r) => /bulk memory, sign extension, non-trapping float-to-int/.test(r[0])))
    assert.ok(rows.some((r) => r[0].includes("DecompressionStream('deflate-raw')")))
  })

  test('the wasm uses exactly the WebAssembly features the README names: bulk memory, sign extension, non-trapping float-to-int', () => {
    for (const name of ['bulk memory', 'sign extension', 'non-trapping float-to-int']) assert.match(readme, new RegExp(name, 'i'))
    const wasmOpt = path.join(root, 'node_modules/.bin/wasm-opt')
    // Without its target_features section, so that only the flags given here count.
    const bare = path.join(packed.dir, 'bare.wasm')
    execFileSync(wasmOpt, [path.join(root, 'pkg/keycloak_wasm.wasm'), '--all-features', '--strip-target-features', '-o', bare], { stdio: 'pipe' })
    const features = ['--enable-bulk-memory', '--enable-sign-ext', '--enable-nontrapping-float-to-int']
    const validates = (flags) => {
      try {
        execFileSync(wasmOpt, [bare, '--mvp-features', ...flags, '-o', path.join(packed.dir, 'check.wasm')], { stdio: 'pipe' })
        return true
      } catch {
        return false
      }
    }
    assert.ok(validates(features), 'validates with these three features')
    for (const left of features) assert.ok(!validates(features.filter((f) => f !== left)), `needs ${left}`)
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
