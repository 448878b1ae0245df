// Shared helpers for the tests/e2e/api-*.test.mjs scenarios: a stack whose realm has
// extra clients (implicit, no PKCE, standard flow off, short-lived tokens) and
// self-registration, the demo app driven through sessionStorage, a tiny "harness" page
// for constructor forms the demo app cannot express, and request/console capture.
import http from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { APP_PATHS, startAppServer } from '../../scripts/serve/app-server.mjs'
import { demoRealm } from '../../scripts/serve/demo-realm.mjs'
import { startRealm } from '../../scripts/serve/realm.mjs'

export const ALICE = { username: 'alice', password: 'alice' }

/** The demo realm plus the clients the API scenarios need; `extraOrigins` may redirect too. */
export function apiRealm (appOrigin, extraOrigins = []) {
  const realm = demoRealm(appOrigin)
  const base = realm.clients[0]
  base.redirectUris = [...base.redirectUris, ...extraOrigins.map((o) => `${o}/*`)]
  const client = (clientId, extra = {}, attributes = base.attributes) => ({ ...base, clientId, attributes: { ...attributes }, ...extra })
  realm.registrationAllowed = true
  realm.clients.push(
    // Implicit and hybrid flows (PKCE still required for the hybrid code).
    client('implicit-app', { implicitFlowEnabled: true }),
    // PKCE optional: keycloak-js's "without PKCE" case.
    client('nopkce-app', {}, { 'post.logout.redirect.uris': '+' }),
    // The authorization endpoint answers response_type=code with unauthorized_client.
    client('nostd-app', { standardFlowEnabled: false }),
    // Access tokens that live 3 s, for onTokenExpired.
    client('short-app', {}, { ...base.attributes, 'access.token.lifespan': '3' })
  )
  return realm
}

/**
 * The demo app (app.localhost) and a realm server (idp.localhost) loaded with
 * `realmFor(appOrigin)` (default: apiRealm). Same shape as fixture.mjs's startStack.
 */
export async function startApiStack ({ realmFor = apiRealm } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kw-api-'))
  const app = await startAppServer()
  let realm, harness
  try {
    harness = await startHarnessServer()
    const file = path.join(dir, 'realm.json')
    writeFileSync(file, JSON.stringify(realmFor(app.baseUrl, [harness.origin])))
    realm = await startRealm({ imports: [file] })
  } catch (e) {
    await Promise.allSettled([app.stop(), harness?.stop()])
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
  const realmUrl = `http://idp.localhost:${realm.port}`
  app.setConfig({ url: realmUrl, realm: 'demo', clientId: 'demo-app' })
  return {
    realmUrl,
    realmPort: realm.port,
    appOrigin: app.baseUrl,
    appUrl: (impl) => app.baseUrl + APP_PATHS[impl],
    /** Our own page building `new Keycloak(<any config>)`, see `openHarness`. */
    harnessOrigin: harness.origin,
    harnessUrl: (impl) => `${harness.origin}/__api/${impl}.html`,
    async stop () {
      await Promise.allSettled([app.stop(), realm.stop(), harness.stop()])
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export const text = (page, id) => page.locator(`#${id}`).textContent()

/** Opens the demo app with the given init options and config overrides (sessionStorage). */
export async function openApp (page, stack, impl, initOptions = { checkLoginIframe: false }, config) {
  await page.goto(new URL('/app.css', stack.appUrl(impl)).href)
  await page.evaluate(([o, c]) => {
    sessionStorage.clear()
    sessionStorage.setItem('demo.init', JSON.stringify(o))
    if (c) sessionStorage.setItem('demo.config', JSON.stringify(c))
  }, [initOptions, config])
  await page.goto(stack.appUrl(impl))
  return page
}

/** Waits until init settled and the app rendered; returns the status text. */
export async function settled (page) {
  await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
  await page.locator('#status', { hasText: /authenticated/ }).waitFor()
  return text(page, 'status')
}

/** Fills the realm's login form (the page must be on it or heading there). */
export async function fillLogin (page, { username, password } = ALICE) {
  await page.locator('#kc-form-login #username').waitFor()
  await page.fill('#username', username)
  await page.fill('#password', password)
  await page.click('#kc-login')
}

/** From the settled, unauthenticated demo app: #login, the form, back authenticated. */
export async function logInThroughApp (page, user = ALICE) {
  await page.click('#login')
  await fillLogin(page, user)
  await page.waitForURL((u) => u.hostname === 'app.localhost')
  // Wait for init on the returned page to settle: in the hybrid flow the app is already
  // authenticated by the URL tokens while the code exchange is still under way.
  await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
  await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
}

/** The demo app's event list: [{ name, args }] in order (args parsed from its JSON). */
export async function events (page) {
  const lines = await page.locator('#events li').allTextContents()
  return lines.map((line) => {
    const m = /^\S+ (\w+)(?: (.*))?$/.exec(line)
    return { name: m?.[1], args: m?.[2] === undefined ? undefined : JSON.parse(m[2]), time: line.slice(0, 12) }
  })
}

export const eventNames = async (page) => (await events(page)).map((e) => e.name)

/** Records requests whose URL matches `re` (method, url, postData, headers), from now on. */
export function recordRequests (page, re) {
  const seen = []
  page.on('request', (r) => {
    if (re.test(r.url())) seen.push({ method: r.method(), url: r.url(), postData: r.postData(), headers: r.headers() })
  })
  return seen
}

export const TOKEN_ENDPOINT = /\/realms\/demo\/protocol\/openid-connect\/token$/

/** Records console messages that start with [KEYCLOAK]: [{ type, text }]. */
export function recordKeycloakLog (page) {
  const lines = []
  page.on('console', (m) => { if (m.text().startsWith('[KEYCLOAK]')) lines.push({ type: m.type(), text: m.text() }) })
  return lines
}

/** Polls `fn` until it returns a truthy value or `ms` elapse (then returns the last value). */
export async function until (fn, ms = 10000, step = 100) {
  const end = Date.now() + ms
  let v
  while (!(v = await fn()) && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, step))
  return v
}

/**
 * A request from Node to the realm as if to idp.localhost, which Node does not resolve:
 * it goes to 127.0.0.1 on the URL's port with the URL's host in the Host header.
 * Resolves to { status, headers, body } (body as text).
 */
export function realmRequest (url, { method = 'GET', headers = {}, body } = {}) {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: u.port, path: u.pathname + u.search, method, headers: { ...headers, host: u.host } }, (res) => {
      let text = ''
      res.on('data', (c) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Listens on loopback (127.0.0.1 and, when available, ::1) on one free port. */
async function listenLoopback (handler) {
  const listen = (s, port, host) => new Promise((resolve, reject) => { s.once('error', reject); s.listen(port, host, () => resolve(s.address().port)) })
  const v4 = http.createServer(handler)
  const port = await listen(v4, 0, '127.0.0.1')
  // *.localhost may resolve to ::1 first, as the app server also handles.
  const v6 = http.createServer(handler)
  await listen(v6, port, '::1').catch(() => null)
  const close = (s) => new Promise((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))
  return { port, stop: () => Promise.all([close(v4), close(v6)]) }
}

/**
 * A tiny JSON server on json.localhost (loopback) with `Access-Control-Allow-Origin: *`.
 * `routes` maps a path to the JSON value served there. Records every request.
 */
export async function startJsonServer (routes) {
  const requests = []
  const { port, stop } = await listenLoopback((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers })
    const body = routes[new URL(req.url, 'http://x').pathname]
    const headers = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': '*', 'Cache-Control': 'no-store' }
    if (req.method === 'OPTIONS') { res.writeHead(204, headers).end(); return }
    if (body === undefined) { res.writeHead(404, headers).end('not found'); return }
    res.writeHead(200, { ...headers, 'Content-Type': 'application/json' }).end(JSON.stringify(body))
  })
  return { origin: `http://json.localhost:${port}`, requests, stop }
}

const ADAPTER_MODULE = { 'keycloak-wasm': '/pkg/keycloak.js', 'keycloak-js': '/vendor/keycloak-js/keycloak.js' }

function harnessHtml (impl) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>api harness</title>
<script type="importmap">${JSON.stringify({ imports: { 'keycloak-wasm': ADAPTER_MODULE[impl] } })}</script>
</head><body>
<p>Status: <strong id="status">starting…</strong> (init <span id="init-result">pending</span>)</p>
<p id="error"></p><p id="username"></p><ol id="events"></ol>
<button id="login" type="button">Log in</button>
<script type="module">
import Keycloak from 'keycloak-wasm'
const $ = (id) => document.getElementById(id)
const config = JSON.parse(sessionStorage.getItem('api.config'))
const keycloak = new Keycloak(config)
window.keycloak = keycloak
for (const name of ['onReady', 'onAuthSuccess', 'onAuthError', 'onAuthRefreshSuccess', 'onAuthRefreshError', 'onAuthLogout', 'onTokenExpired']) {
  keycloak[name] = (...args) => {
    const li = document.createElement('li')
    li.textContent = new Date().toISOString().slice(11, 23) + ' ' + name + (args.length ? ' ' + JSON.stringify(args) : '')
    $('events').append(li)
  }
}
$('login').onclick = () => keycloak.login()
try {
  await keycloak.init(JSON.parse(sessionStorage.getItem('api.init') ?? '{}'))
  $('init-result').textContent = 'resolved'
} catch (e) {
  $('init-result').textContent = 'rejected'
  $('error').textContent = e instanceof Error ? e.message : JSON.stringify(e)
}
$('status').textContent = keycloak.authenticated ? 'authenticated' : 'not authenticated'
$('username').textContent = keycloak.tokenParsed?.preferred_username ?? ''
</script></body></html>`
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const MOUNTS = [['/pkg/', path.join(ROOT, 'pkg')], ['/vendor/keycloak-js/', path.join(ROOT, 'node_modules', 'keycloak-js', 'lib')]]

/**
 * Our own page server on harness.localhost (loopback, so the browser lets its pages
 * reach the realm): /__api/<impl>.html builds `new Keycloak(<sessionStorage api.config>)`
 * (any constructor argument, e.g. a URL string) and runs init(<api.init>), with the
 * demo app's DOM ids; /pkg/ and /vendor/keycloak-js/ serve the two adapters read-only.
 */
async function startHarnessServer () {
  const { port, stop } = await listenLoopback(async (req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    const { pathname } = new URL(req.url, 'http://x')
    const page = /^\/__api\/(keycloak-wasm|keycloak-js)\.html$/.exec(pathname)
    if (page) { res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(harnessHtml(page[1])); return }
    if (pathname === '/__api/blank.html') { res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html><title>blank</title>'); return }
    const mount = MOUNTS.find(([prefix]) => pathname.startsWith(prefix))
    if (mount && !pathname.includes('..')) {
      try {
        const body = await readFile(path.join(mount[1], pathname.slice(mount[0].length)))
        res.writeHead(200, { 'Content-Type': pathname.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' }).end(body)
        return
      } catch {}
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found')
  })
  return { origin: `http://harness.localhost:${port}`, stop }
}

/** Opens the harness page for `impl` with a constructor argument and init options. */
export async function openHarness (page, stack, impl, config, initOptions = { checkLoginIframe: false }) {
  await page.goto(`${stack.harnessOrigin}/__api/blank.html`)
  await page.evaluate(([c, o]) => {
    sessionStorage.clear()
    sessionStorage.setItem('api.config', JSON.stringify(c))
    sessionStorage.setItem('api.init', JSON.stringify(o))
  }, [config, initOptions])
  await page.goto(stack.harnessUrl(impl))
  return page
}
