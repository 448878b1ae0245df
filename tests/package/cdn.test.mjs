// The package from a CDN, as a page without a bundler loads it: the packed tarball served
// the way jsDelivr and unpkg resolve a package URL, on its own site (CORS, as both CDNs
// answer), and static pages on the app's site that log alice in against the realm server
// through it:
//
//   <script src="https://cdn.jsdelivr.net/npm/keycloak-wasm@X">         the bare URL: the file the
//   <script src="https://unpkg.com/keycloak-wasm@X">                     CDN picks from package.json
//   import Keycloak from 'https://cdn.jsdelivr.net/npm/keycloak-wasm@X/keycloak.js'   the ESM file
//   import Keycloak from 'https://unpkg.com/keycloak-wasm@X/keycloak.js'
//
// Each CDN's choice of the bare URL's file follows what it documents or runs:
// - jsDelivr (README of jsdelivr/jsdelivr, "Configuring a default file in package.json"):
//   `jsdelivr`, then `browser` (a string), then `main`, served at the bare URL itself; a
//   `.min.js` beside that file if the package has one, else the file minified by jsDelivr.
// - unpkg (unpkg/unpkg, packages/unpkg-worker/src/lib/pkg-exports.ts): `unpkg`, then
//   `exports['.']` under the conditions `unpkg` and `default`, then `main`, then
//   /index.js; the bare URL redirects to that file. (The older unpkg read `unpkg`, then
//   `browser`, then `main`: the same file for this package.)
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { launchBrowser, newPage } from '../support/browser.mjs'
import { fillLogin } from '../support/api-helpers.mjs'
import { pack, unpack } from '../support/packed.mjs'
import { staticServer } from '../support/static-server.mjs'
import { demoRealm } from '../../scripts/serve/demo-realm.mjs'
import { ensureRealmBuilt, startRealm } from '../../scripts/serve/realm.mjs'

/** jsDelivr's default file (see above), as a path in the package. */
function jsdelivrEntry (pkg) {
  return pkg.jsdelivr ?? (typeof pkg.browser === 'string' ? pkg.browser : undefined) ?? pkg.main ?? 'index.js'
}

/** unpkg's file for the bare URL (see above), as a path in the package. */
function unpkgEntry (pkg) {
  if (typeof pkg.unpkg === 'string') return pkg.unpkg
  const conditions = ['unpkg', 'default']
  const pick = (target) => {
    if (typeof target === 'string' || target == null) return target
    for (const [key, value] of Object.entries(target)) {
      if (conditions.includes(key)) {
        const found = pick(value)
        if (found !== undefined) return found
      }
    }
    return undefined
  }
  const exp = pkg.exports
  const dot = typeof exp === 'string' ? exp : exp && (Object.keys(exp).some((k) => k.startsWith('.')) ? exp['.'] : exp)
  return pick(dot) ?? pkg.main ?? 'index.js'
}

const plain = (f) => f.replace(/^\.?\/+/, '')

/**
 * A CDN for one unpacked package: jsdelivr.localhost serves /npm/<name>@<version>[/file],
 * unpkg.localhost serves /<name>@<version>[/file]; any other name or version is a 404.
 */
function cdnServer (dir) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
  const send = (res, file) => {
    const full = path.join(dir, plain(file))
    if (!full.startsWith(dir + path.sep) || !existsSync(full)) {
      res.statusCode = 404
      return res.end()
    }
    res.setHeader('content-type', file.endsWith('.json') ? 'application/json' : 'application/javascript; charset=utf-8')
    res.end(readFileSync(full))
  }
  return http.createServer((req, res) => {
    res.setHeader('access-control-allow-origin', '*')
    const host = req.headers.host.split(':')[0]
    const url = new URL(req.url, 'http://x')
    const prefix = host === 'jsdelivr.localhost' ? `/npm/${pkg.name}@${pkg.version}` : host === 'unpkg.localhost' ? `/${pkg.name}@${pkg.version}` : null
    if (prefix === null || (url.pathname !== prefix && !url.pathname.startsWith(prefix + '/'))) {
      res.statusCode = 404
      return res.end()
    }
    const file = url.pathname.slice(prefix.length + 1)
    if (file) return send(res, file)
    if (host === 'unpkg.localhost') {
      res.statusCode = 302
      res.setHeader('location', `${prefix}/${plain(unpkgEntry(pkg))}`)
      return res.end()
    }
    const entry = plain(jsdelivrEntry(pkg))
    const min = entry.replace(/\.js$/, '.min.js')
    send(res, existsSync(path.join(dir, min)) ? min : entry)
  })
}

// The page's app: login-required, then what it got.
const appCode = (realmUrl) => `
  const keycloak = new Keycloak({ url: ${JSON.stringify(realmUrl)}, realm: 'demo', clientId: 'demo-app' })
  keycloak.init({ onLoad: 'login-required', checkLoginIframe: false }).then(
    (authenticated) => { window.result = { authenticated, token: keycloak.token, username: keycloak.tokenParsed?.preferred_username } },
    (e) => { window.result = { error: String(e?.message ?? e) } })
`

let packed, pkgDir, pkg, cdn, cdnPort, app, appOrigin, realm, realmDir, browser

function listen (server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
}

before(async () => {
  await ensureRealmBuilt()
  packed = pack('kw-cdn-')
  pkgDir = unpack(packed)
  pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
  cdn = cdnServer(pkgDir)
  cdnPort = await listen(cdn)
  const pages = path.join(packed.dir, 'pages')
  mkdirSync(pages)
  app = staticServer(pages)
  appOrigin = `http://app.localhost:${await listen(app)}`
  realmDir = mkdtempSync(path.join(os.tmpdir(), 'kw-cdn-realm-'))
  writeFileSync(path.join(realmDir, 'realm.json'), JSON.stringify(demoRealm(appOrigin)))
  realm = await startRealm({ imports: [path.join(realmDir, 'realm.json')] })
  const realmUrl = `http://idp.localhost:${realm.port}`
  const at = (host, prefix) => `http://${host}:${cdnPort}${prefix}/${pkg.name}@${pkg.version}`
  const bases = { jsdelivr: at('jsdelivr.localhost', '/npm'), unpkg: at('unpkg.localhost', '') }
  for (const [name, base] of Object.entries(bases)) {
    writeFileSync(path.join(pages, `${name}-script.html`), `<!doctype html><title>${name} script</title>
<script src="${base}"></script>
<script>${appCode(realmUrl)}</script>`)
    writeFileSync(path.join(pages, `${name}-module.html`), `<!doctype html><title>${name} module</title>
<script type="module">
  import Keycloak from '${base}/keycloak.js'
  ${appCode(realmUrl)}
</script>`)
  }
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await realm?.stop()
  for (const s of [cdn, app]) if (s?.listening) s.close()
  packed?.remove()
  if (realmDir) rmSync(realmDir, { recursive: true, force: true })
})

describe('what each CDN serves for the package', () => {
  test('jsDelivr and unpkg pick the classic-script build for the bare URL; Node and bundlers keep theirs', () => {
    assert.equal(plain(jsdelivrEntry(pkg)), 'keycloak.global.js')
    assert.equal(plain(unpkgEntry(pkg)), 'keycloak.global.js')
    // What the same resolution would give without the fields: files a <script> cannot run.
    const bare = { ...pkg, unpkg: undefined, jsdelivr: undefined }
    assert.equal(plain(jsdelivrEntry(bare)), 'keycloak.cjs')
    assert.equal(plain(unpkgEntry(bare)), 'keycloak.js')
  })
})

for (const cdnName of ['jsdelivr', 'unpkg']) {
  describe(`from ${cdnName}`, () => {
    for (const kind of ['script', 'module']) {
      const what = kind === 'script' ? 'a classic <script src> of the bare package URL' : 'a <script type="module"> importing /keycloak.js'
      test(`${what} logs alice in against the realm`, async () => {
        const page = await newPage(browser)
        try {
          await page.goto(`${appOrigin}/${cdnName}-${kind}.html`)
          await fillLogin(page)
          await page.waitForURL((u) => u.hostname === 'app.localhost')
          await page.waitForFunction(() => window.result)
          const result = await page.evaluate(() => window.result)
          assert.equal(result.error, undefined)
          assert.equal(result.authenticated, true)
          assert.equal(result.username, 'alice')
          assert.equal(typeof result.token, 'string')
          assert.equal(result.token.split('.').length, 3, 'a JWT access token')
          assert.deepEqual(page.errors, [])
        } catch (e) {
          e.message += `; page errors: ${page.errors.join(' | ') || 'none'}`
          throw e
        } finally {
          await page.context().close()
        }
      })
    }
  })
}
