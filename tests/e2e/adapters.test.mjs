// The hybrid-app adapters (reference §6) through the real realm server: 'cordova'
// (InAppBrowser), 'cordova-native' (browsertab + universalLinks), and our Capacitor
// adapter (keycloak-wasm/capacitor, built on the public handleCallback()).
//
// The plugins are stand-ins with the real plugins' API, event names and payloads; the
// test plays the native side: a plugin call opens a second Playwright page (the in-app
// or system browser), which shows the realm's real login page, and the navigations of
// that page become the plugin's events (`loadstart` with the full URL, `exit` when the
// window closes, the deep link / `appUrlOpen` when the server redirects to the app's URL).
//
// Cordova scenarios run against both packages. Where we differ on purpose, the test says
// why: keycloak-js 26.2.4 does not validate the callback's state in Cordova (fixed in
// 26.2.5, #306), and its Cordova registration ignores the options.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { ALICE, TOKEN_ENDPOINT, apiRealm, eventNames, fillLogin, openApp, recordRequests, until } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const APP_URL = 'com.example.app://callback'

// The Cordova adapters come back on http://localhost; the Capacitor app on its scheme.
const realmFor = (appOrigin, extra) => {
  const realm = apiRealm(appOrigin, extra)
  realm.clients[0].redirectUris.push('http://localhost', 'http://localhost/*', APP_URL)
  return realm
}
const { stack, browser } = useStack({ api: true, realmFor })

// Runs in the app page before its scripts: window.cordova with the InAppBrowser and
// browsertab plugins, and the deeplinks plugin's window.universalLinks.
function cordovaStandIns () {
  const windows = new Map()
  let next = 0
  window.__native = {
    fire (id, type, url) {
      for (const f of [...(windows.get(id)?.[type] ?? [])]) f({ type, url })
    }
  }
  window.cordova = {
    InAppBrowser: {
      open (url, target, options) {
        const id = ++next
        const listeners = {}
        windows.set(id, listeners)
        window.__iabOpen(id, url, target, options)
        return {
          addEventListener (type, f) { (listeners[type] ??= []).push(f) },
          removeEventListener (type, f) { listeners[type] = (listeners[type] ?? []).filter((g) => g !== f) },
          close () { window.__iabClose(id) }
        }
      }
    },
    plugins: {
      browsertab: {
        openUrl (url) { window.__tabOpen(url) },
        close () { window.__tabClose() }
      }
    }
  }
  const subscribers = {}
  window.universalLinks = {
    subscribe (name, f) { subscribers[name] = f },
    unsubscribe (name) { delete subscribers[name] }
  }
  window.__native.link = (name, data) => subscribers[name]?.(data)
}

// The URL a navigation request in `page` really goes to, fragment included (a request
// URL has none; after a redirect it is in the previous response's Location).
async function fullUrl (req) {
  const prev = req.redirectedFrom()
  const location = prev && (await prev.response())?.headers().location
  return location ? new URL(location, prev.url()).href : req.url()
}

/**
 * Plays the native side of the stand-ins for `page`. `windows` lists every opened
 * window: { id, url, target, options, page, closed }.
 */
async function nativeSide (page) {
  const context = page.context()
  const windows = []
  const fire = (id, type, url) => page.evaluate(([i, t, u]) => window.__native.fire(i, t, u), [id, type, url]).catch(() => {})
  // What a browser at http://localhost finds: the app's own web server.
  const serveLocalhost = (child) => child.route((u) => u.hostname === 'localhost' && u.port === '', (r) => r.fulfill({ contentType: 'text/html', body: '<p>app</p>' }).catch(() => {}))
  const open = async (id, url, target, options, onNavigate) => {
    const child = await context.newPage()
    const w = { id, url, target, options, page: child, closed: false }
    windows.push(w)
    await serveLocalhost(child)
    child.on('request', async (req) => {
      if (req.isNavigationRequest() && req.frame() === child.mainFrame()) onNavigate(await fullUrl(req))
    })
    child.goto(url).catch(() => {})
  }
  const close = async (w) => {
    if (!w || w.closed) return
    w.closed = true
    await w.page.close().catch(() => {})
  }
  await page.exposeBinding('__iabOpen', (_, id, url, target, options) => open(id, url, target, options, (u) => fire(id, 'loadstart', u)))
  await page.exposeBinding('__iabClose', async (_, id) => {
    const w = windows.find((x) => x.id === id)
    if (w && !w.closed) {
      await close(w)
      await fire(id, 'exit') // the plugin answers close() with `exit`
    }
  })
  await page.exposeBinding('__tabOpen', (_, url) => open(0, url, undefined, undefined, (u) => {
    // The OS hands http://localhost/… to the app as a universal link.
    if (new URL(u).hostname === 'localhost') {
      const parsed = new URL(u)
      page.evaluate(([data]) => window.__native.link('keycloak', data), [{ url: u, scheme: 'http', host: 'localhost', path: parsed.pathname, hash: parsed.hash.slice(1), params: Object.fromEntries(parsed.searchParams) }]).catch(() => {})
    }
  }))
  await page.exposeBinding('__tabClose', () => close(windows.findLast((w) => !w.closed)))
  return {
    windows,
    last: () => windows.at(-1),
    /** The user closes the window (the plugin then fires `exit`). */
    async userCloses (w) {
      await close(w)
      await fire(w.id, 'exit')
    },
    fire
  }
}

/** The demo app with the stand-ins, initialised with `init`; not logged in. */
async function cordovaApp (impl, init) {
  const page = await newPage(browser)
  await page.addInitScript(cordovaStandIns)
  const native = await nativeSide(page)
  const iframes = recordRequests(page, /login-status-iframe/)
  await openApp(page, stack, impl, init)
  await page.locator('#init-result', { hasText: 'resolved' }).waitFor()
  return { page, native, iframes }
}

// Starts `expr` (a promise-returning call on window.keycloak) without waiting; resolves
// to 'ok' or the rejection's message.
function start (page, fn, arg) {
  return page.evaluate(([f, a]) => new Function('a', `return (${f})(a)`)(a).then(() => 'ok', (e) => e?.message ?? JSON.stringify(e)), [fn.toString(), arg])
}

const state = (page) => page.evaluate(() => ({ authenticated: window.keycloak.authenticated, user: window.keycloak.tokenParsed?.preferred_username, refresh: !!window.keycloak.refreshToken }))

for (const impl of IMPLS) {
  describe(`cordova adapter (InAppBrowser) [${impl}]`, { timeout: 60000 }, () => {
    test('window.cordova selects it: login, refresh and logout go through InAppBrowser windows', async () => {
      const { page, native, iframes } = await cordovaApp(impl, {})
      assert.equal(iframes.length, 0, 'the Cordova adapter turns the session iframe off')
      const login = start(page, () => window.keycloak.login())
      await until(() => native.windows.length === 1)
      const w = native.last()
      assert.equal(w.target, '_blank')
      assert.equal(w.options, 'location=no')
      const auth = new URL(w.url)
      assert.equal(auth.searchParams.get('redirect_uri'), 'http://localhost')
      await fillLogin(w.page, ALICE)
      assert.equal(await login, 'ok')
      assert.ok(w.closed, 'the window is closed once the callback arrived')
      assert.deepEqual(await state(page), { authenticated: true, user: 'alice', refresh: true })
      assert.ok((await eventNames(page)).includes('onAuthSuccess'))

      assert.equal(await page.evaluate(() => window.keycloak.updateToken(-1)), true)

      const logout = start(page, () => window.keycloak.logout())
      await until(() => native.windows.length === 2)
      const out = native.last()
      assert.equal(out.options, 'location=no,hidden=yes,clearcache=yes')
      assert.match(out.url, /\/protocol\/openid-connect\/logout\?/)
      assert.equal(new URL(out.url).searchParams.get('post_logout_redirect_uri'), 'http://localhost')
      assert.equal(await logout, 'ok')
      assert.equal((await state(page)).authenticated, false, 'the Cordova logout clears the tokens')
      assert.ok((await eventNames(page)).includes('onAuthLogout'))
      // The realm session really ended: a new login shows the form again.
      const again = start(page, () => window.keycloak.login())
      await until(() => native.windows.length === 3)
      await native.last().page.locator('#kc-form-login').waitFor()
      await native.userCloses(native.last())
      assert.equal(await again, 'User closed the login window.')
      await page.context().close()
    })

    test('cordovaOptions are kept, location=no is forced, prompt=none hides the window', async () => {
      const { page, native } = await cordovaApp(impl, { adapter: 'cordova' })
      const login = start(page, () => window.keycloak.login({ prompt: 'none', cordovaOptions: { zoom: 'no', location: 'yes' } }))
      await until(() => native.windows.length === 1)
      assert.equal(native.last().options, 'zoom=no,location=no,hidden=yes')
      // No realm session: the server answers error=login_required at the redirect URI,
      // which a prompt=none login takes as "not logged in", not as a failure.
      assert.equal(await login, 'ok')
      assert.ok(native.last().closed)
      assert.equal((await state(page)).authenticated, false)
      await page.context().close()
    })

    test('closing the window rejects the login', async () => {
      const { page, native } = await cordovaApp(impl, { adapter: 'cordova' })
      const login = start(page, () => window.keycloak.login())
      await until(() => native.windows.length === 1)
      await native.last().page.locator('#kc-form-login').waitFor()
      await native.userCloses(native.last())
      assert.equal(await login, 'User closed the login window.')
      await page.context().close()
    })

    test('a callback with a state the app never issued', async () => {
      const { page, native } = await cordovaApp(impl, { adapter: 'cordova' })
      const tokens = recordRequests(page, TOKEN_ENDPOINT)
      const login = start(page, () => window.keycloak.login())
      await until(() => native.windows.length === 1)
      // A page in the window (or a forged link) reaches the redirect URI with its own state.
      await native.fire(native.last().id, 'loadstart', 'http://localhost/#state=forged&code=stolen')
      const result = await login
      if (impl === 'keycloak-wasm') {
        assert.equal(result, 'Invalid OAuth state in login callback.')
        assert.equal(tokens.length, 0, 'nothing is sent for a state we did not issue')
      } else {
        // keycloak-js 26.2.4 skips the check (#306) and posts the foreign code to the token
        // endpoint without a verifier; the server refuses, so the login fails later.
        assert.notEqual(result, 'ok')
        assert.equal(tokens.length, 1)
        assert.match(tokens[0].postData, /code=stolen/)
      }
      assert.equal((await state(page)).authenticated, false)
      await page.context().close()
    })
  })

  describe(`cordova-native adapter (browsertab + universalLinks) [${impl}]`, { timeout: 60000 }, () => {
    test('login, refresh and logout through the system browser and deep links', async () => {
      const { page, native, iframes } = await cordovaApp(impl, { adapter: 'cordova-native', responseMode: 'query' })
      assert.equal(iframes.length, 0)
      const login = start(page, () => window.keycloak.login())
      await until(() => native.windows.length === 1)
      const w = native.last()
      assert.equal(new URL(w.url).searchParams.get('redirect_uri'), 'http://localhost')
      assert.equal(new URL(w.url).searchParams.get('response_mode'), 'query')
      await fillLogin(w.page, ALICE)
      assert.equal(await login, 'ok')
      assert.ok(w.closed, 'browsertab.close() after the deep link')
      assert.deepEqual(await state(page), { authenticated: true, user: 'alice', refresh: true })
      assert.equal(await page.evaluate(() => window.keycloak.updateToken(-1)), true)

      const logout = start(page, () => window.keycloak.logout())
      await until(() => native.windows.length === 2)
      assert.match(native.last().url, /\/protocol\/openid-connect\/logout\?/)
      assert.equal(await logout, 'ok')
      assert.equal((await state(page)).authenticated, false)
      await page.context().close()
    })
  })
}

describe('Capacitor adapter (keycloak-wasm/capacitor) [keycloak-wasm only: keycloak-js has none]', { timeout: 60000 }, () => {
  // @capacitor/browser and @capacitor/app stand-ins: the real plugins' method names,
  // listener handles and events (`appUrlOpen` with { url }, `browserFinished`).
  const plugins = {
    'browser.js': `
      const listeners = new Set()
      window.__capBrowserFire = (name) => { for (const l of [...listeners]) if (l.name === name) l.fn({}) }
      export const Browser = {
        open: async ({ url }) => { await window.__capOpen(url) },
        close: async () => { await window.__capClose() },
        addListener (name, fn) {
          const l = { name, fn, remove: async () => { listeners.delete(l) } }
          listeners.add(l)
          return Promise.resolve(l)
        }
      }`,
    'app.js': `
      const listeners = new Set()
      window.__capAppFire = (name, data) => { for (const l of [...listeners]) if (l.name === name) l.fn(data) }
      export const App = {
        addListener (name, fn) {
          const l = { name, fn, remove: async () => { listeners.delete(l) } }
          listeners.add(l)
          return Promise.resolve(l)
        }
      }`
  }

  async function capacitorApp () {
    const page = await newPage(browser)
    const context = page.context()
    await context.route(/\/examples\/capacitor\/plugins\/(browser|app)\.js$/, (r) =>
      r.fulfill({ contentType: 'text/javascript', body: plugins[new URL(r.request().url()).pathname.split('/').pop()] }))
    const opened = []
    await page.exposeBinding('__capOpen', async (_, url) => {
      const child = await context.newPage()
      const w = { url, page: child, closed: false }
      opened.push(w)
      // The OS gives the app its URL when the server redirects there. A browser loads
      // no custom scheme, so no request follows the redirect: its Location is read from
      // the raw response headers (CDP) instead.
      const cdp = await context.newCDPSession(child)
      await cdp.send('Network.enable')
      cdp.on('Network.responseReceivedExtraInfo', ({ headers }) => {
        const location = Object.entries(headers).find(([k]) => k.toLowerCase() === 'location')?.[1]
        if (location?.startsWith(APP_URL)) page.evaluate((u) => window.__capAppFire('appUrlOpen', { url: u }), location).catch(() => {})
      })
      child.goto(url).catch(() => {})
    })
    await page.exposeBinding('__capClose', async () => {
      for (const w of opened.filter((x) => !x.closed)) { w.closed = true; await w.page.close().catch(() => {}) }
    })
    await page.goto(`${stack.appOrigin}/app.css`)
    await page.evaluate((c) => sessionStorage.setItem('demo.config', JSON.stringify(c)), { url: stack.realmUrl, realm: 'demo', clientId: 'demo-app' })
    await page.goto(`${stack.appOrigin}/examples/capacitor/index.html`)
    await page.locator('#status', { hasText: 'not authenticated' }).waitFor()
    return { page, opened }
  }

  test('the example app logs in through the system browser and the app URL, refreshes, logs out', async () => {
    const { page, opened } = await capacitorApp()
    const tokens = recordRequests(page, TOKEN_ENDPOINT)
    await page.click('#login')
    await until(() => opened.length === 1)
    assert.equal(new URL(opened[0].url).searchParams.get('redirect_uri'), APP_URL)
    await fillLogin(opened[0].page, ALICE)
    await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
    assert.equal(await page.locator('#user').textContent(), 'alice')
    assert.ok(opened[0].closed, 'Browser.close() after appUrlOpen')
    assert.match(tokens[0].postData, /redirect_uri=com\.example\.app%3A%2F%2Fcallback/)
    assert.equal(await page.evaluate(() => window.keycloak.updateToken(-1)), true)

    await page.click('#logout')
    await page.locator('#status', { hasText: 'not authenticated' }).waitFor()
    assert.equal(opened.length, 2)
    assert.equal(new URL(opened[1].url).searchParams.get('post_logout_redirect_uri'), APP_URL)
    assert.deepEqual(page.errors, [])
    await page.context().close()
  })

  test('closing the browser rejects the login; a foreign app URL is refused by handleCallback', async () => {
    const { page, opened } = await capacitorApp()
    const login = start(page, () => window.keycloak.login())
    await until(() => opened.length === 1)
    await opened[0].page.locator('#kc-form-login').waitFor()
    await page.evaluate(() => window.__capBrowserFire('browserFinished'))
    assert.equal(await login, 'User closed the login window.')
    const forged = await start(page, (u) => window.keycloak.handleCallback(u), `${APP_URL}#state=forged&code=stolen`)
    assert.equal(forged, 'Invalid OAuth state in login callback.')
    assert.equal(await page.locator('#status').textContent(), 'not authenticated')
    await page.context().close()
  })
})
