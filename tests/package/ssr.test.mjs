// Server-side rendering: the packed package installed in a fresh app and loaded by Node
// with no DOM, as Next.js, Nuxt or Angular SSR load an app's modules on the server.
// Importing (ESM and CommonJS) reads no browser global; constructing starts nothing (no
// wasm is inflated or compiled), a KeycloakAuthorization neither; init() and the other
// calls that need the adapter reject with a clear error, an authz request too; and a page rendered by a plain Node HTTP server with an instance in
// it comes out whole.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { installApp, pack } from '../support/packed.mjs'

const SERVER_ERROR = 'Keycloak is not initialized on the server: call init() in the browser.'
const config = { url: 'https://auth.example.com', realm: 'demo', clientId: 'demo-app' }
let packed, app

// Run in a child Node process in the app folder, so the module is loaded fresh. Names a
// browser has and Node has not become getters that record each read (and give undefined,
// as on a server); DecompressionStream and WebAssembly.compile* record a wasm start.
const probe = `
const reads = []
const BROWSER = ['window', 'self', 'document', 'location', 'navigator', 'history', 'localStorage', 'sessionStorage',
  'addEventListener', 'removeEventListener', 'postMessage', 'open', 'isSecureContext', 'cordova', 'Cordova',
  'universalLinks', 'top', 'parent', 'frames', 'screen', 'XMLHttpRequest', 'indexedDB', 'HTMLElement', 'Element']
for (const name of BROWSER) {
  if (!(name in globalThis)) Object.defineProperty(globalThis, name, { configurable: true, get () { reads.push(name) } })
}
const starts = []
const Inflate = globalThis.DecompressionStream
globalThis.DecompressionStream = class extends Inflate { constructor (...a) { starts.push('DecompressionStream'); super(...a) } }
for (const key of ['compile', 'compileStreaming', 'instantiate', 'instantiateStreaming']) {
  const f = WebAssembly[key]
  WebAssembly[key] = (...a) => { starts.push('WebAssembly.' + key); return f(...a) }
}
const settle = (p) => p.then(() => 'resolved', (e) => (e instanceof Error ? e.message : 'not an Error: ' + e))
const attempt = (f) => { try { f(); return 'returned' } catch (e) { return e.message } }
;(async () => {
  const cjs = require('keycloak-wasm')
  const esm = await import('keycloak-wasm')
  const out = { importReads: [...reads], cjs: typeof cjs.default, esm: typeof esm.default, builds: {} }
  for (const [name, Keycloak] of [['esm', esm.default], ['cjs', cjs.default]]) {
    const kc = new Keycloak(${JSON.stringify(config)})
    const r = { authenticated: kc.authenticated, token: kc.token, role: kc.hasRealmRole('user'), expired: attempt(() => kc.isTokenExpired()) }
    r.init = await settle(kc.init({ onLoad: 'check-sso' }))
    r.didInitialize = kc.didInitialize
    r.login = await settle(kc.login())
    r.updateToken = await settle(kc.updateToken(5))
    r.logoutUrl = attempt(() => kc.createLogoutUrl())
    // Every asynchronous method gives a promise (and each rejects here).
    const asyncMethods = ['login', 'createLoginUrl', 'logout', 'register', 'createRegisterUrl', 'accountManagement', 'loadUserProfile', 'loadUserInfo', 'updateToken', 'handleCallback', 'createDpopProof']
    r.promises = asyncMethods.filter((m) => { const p = kc[m]('https://app.example.com/'); p?.catch?.(() => {}); return p instanceof Promise }).length === asyncMethods.length
    out.builds[name] = r
  }
  // keycloak-wasm/authz: constructing starts nothing either; a request fails with a clear error.
  const { default: KeycloakAuthorization } = await import('keycloak-wasm/authz')
  const authz = new KeycloakAuthorization(new esm.default(${JSON.stringify(config)}))
  out.authz = await new Promise((resolve) => authz.entitlement('api').then(() => resolve('grant'), () => resolve('deny'), (e) => resolve(e?.message)))
  await new Promise((resolve) => setTimeout(resolve, 50))
  out.reads = [...new Set(reads)]
  out.starts = starts
  console.log(JSON.stringify(out))
})().catch((e) => { console.log(JSON.stringify({ crashed: String(e && e.stack || e) })) })
`

// What an SSR framework does per request, reduced to a function: the instance exists while
// the page renders (shared code constructs it), and only the browser calls init().
const renderSource = (load) => `${load}
function render (config) {
  const keycloak = new Keycloak(config)
  const who = keycloak.authenticated ? keycloak.tokenParsed.preferred_username : 'guest'
  return '<!doctype html><title>SSR</title><p id="who">' + who + '</p>' +
    '<p id="role">' + (keycloak.hasRealmRole('user') ? 'user' : 'no role') + '</p>' +
    '<script type="module">/* the browser calls init() here */</script>'
}
`

before(() => {
  packed = pack('kw-ssr-')
  app = installApp(packed)
  writeFileSync(path.join(app, 'probe.cjs'), probe)
  writeFileSync(path.join(app, 'render.mjs'), renderSource("import Keycloak from 'keycloak-wasm'") + 'export { render }\n')
  writeFileSync(path.join(app, 'render.cjs'), renderSource("const Keycloak = require('keycloak-wasm').default") + 'module.exports = { render }\n')
})

after(() => packed?.remove())

describe('on a server (Node, no DOM)', () => {
  let out
  before(() => {
    out = JSON.parse(execFileSync(process.execPath, ['probe.cjs'], { cwd: app, encoding: 'utf8' }))
    assert.equal(out.crashed, undefined)
  })

  test('import and require give the class and read no browser global', () => {
    assert.equal(out.esm, 'function')
    assert.equal(out.cjs, 'function')
    assert.deepEqual(out.importReads, [])
  })

  test('constructing starts nothing: no wasm inflated or compiled; the only global looked at is `typeof document`', () => {
    assert.deepEqual(out.starts, [])
    assert.deepEqual(out.reads, ['document'])
  })

  test('keycloak-wasm/authz: constructing starts nothing; a request calls onError with a clear error', () => {
    assert.equal(out.authz, 'KeycloakAuthorization makes its requests in the browser, not on the server.')
  })

  for (const build of ['esm', 'cjs']) {
    test(`${build}: the instance answers as one holding no token; init() and the async calls reject with a clear error`, () => {
      assert.deepEqual(out.builds[build], {
        authenticated: false,
        role: false,
        expired: 'Not authenticated',
        init: SERVER_ERROR,
        didInitialize: true,
        login: SERVER_ERROR,
        updateToken: SERVER_ERROR,
        logoutUrl: 'Keycloak is not initialized: call and await init() first.',
        promises: true
      })
    })
  }
})

test('a plain Node HTTP server renders a page with an instance in it, through import and through require', async () => {
  const renders = {
    '/esm': (await import(pathToFileURL(path.join(app, 'render.mjs')).href)).render,
    '/cjs': (await import(pathToFileURL(path.join(app, 'render.cjs')).href)).default.render
  }
  assert.equal(typeof document, 'undefined', 'this test process has no DOM')
  const server = http.createServer((req, res) => {
    try {
      const html = renders[req.url](config)
      res.setHeader('content-type', 'text/html')
      res.end(html)
    } catch (e) {
      res.statusCode = 500
      res.end(e.stack)
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    for (const route of Object.keys(renders)) {
      const res = await fetch(`http://127.0.0.1:${server.address().port}${route}`)
      const body = await res.text()
      assert.equal(res.status, 200, `${route}: ${body}`)
      assert.match(body, /<p id="who">guest<\/p><p id="role">no role<\/p><script type="module">/)
    }
  } finally {
    server.close()
  }
})
