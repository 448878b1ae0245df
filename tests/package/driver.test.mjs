// pkg/driver.js in Chromium, with the real wasm and a realm played by the test (Playwright
// routes): the services it keeps for the machine (the callback store with keycloak-js's
// purge, quota and cookie rules; frames and their messages; failing effects; handles).
// The flows themselves are the machine's, tested natively and end to end.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { launchBrowser, newPage } from '../support/browser.mjs'
import { startAppServer } from '../../scripts/serve/app-server.mjs'

const REALM = 'http://idp.localhost:9'
const b64url = (s) => Buffer.from(s).toString('base64url')
const jwt = (claims) => `${b64url('{"alg":"RS256"}')}.${b64url(JSON.stringify(claims))}.sig`

let app, browser
before(async () => {
  app = await startAppServer()
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await app?.stop()
})

/** A page with a Driver on window.d (a plain object stands in for the Keycloak instance). */
// `extras`: the machine built with keycloak-wasm's additions and their effects (pkg/extras.js).
async function driverPage (setup = '', extras = false) {
  const page = await newPage(browser)
  await page.route(`${REALM}/**`, (route) => route.fulfill({ status: 404, body: 'no' }))
  await page.goto(`${app.baseUrl}/app.css`)
  await page.evaluate(async ([realm, setup, extras]) => {
    if (setup) new Function(setup)() // eslint-disable-line no-new-func
    const { Driver } = await import('/pkg/driver.js')
    const bytes = await fetch(extras ? '/pkg/keycloak_wasm_full.wasm' : '/pkg/keycloak_wasm.wasm').then((r) => r.arrayBuffer())
    const module = await WebAssembly.compile(bytes)
    window.kc = { responseMode: 'fragment', responseType: 'code', pkceMethod: 'S256', logoutMethod: 'GET', messageReceiveTimeout: 10000, silentCheckSsoFallback: true, timeSkew: null }
    window.inputs = []
    window.d = new Driver(module, window.kc, { url: realm, realm: 'demo', clientId: 'app' }, extras ? (await import('/pkg/extras.js')).more : undefined)
    const send = window.d.send.bind(window.d)
    window.d.send = (kind, ...args) => { window.inputs.push(kind); return send(kind, ...args) }
  }, [REALM, setup, extras])
  return page
}

const callbackKeys = (page) => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('kc-callback-')).sort())

// A second page in the context of `page`, on the same URL, with its own Driver on window.d.
const secondDriverPage = async (page) => {
  const other = await page.context().newPage()
  await other.goto(page.url())
  await other.evaluate(async (realm) => {
    const { Driver } = await import('/pkg/driver.js')
    const module = await WebAssembly.compile(await fetch('/pkg/keycloak_wasm_full.wasm').then((r) => r.arrayBuffer()))
    window.d = new Driver(module, { timeSkew: null }, { url: realm, realm: 'demo', clientId: 'app' }, (await import('/pkg/extras.js')).more)
  }, REALM)
  return other
}

describe('the callback store', () => {
  test('a record per login URL, with a one-hour expiry; stale and malformed entries are purged', async () => {
    const page = await driverPage()
    await page.evaluate(async () => {
      localStorage.clear()
      localStorage.setItem('kc-callback-old', JSON.stringify({ state: 'old', expires: Date.now() - 1 }))
      localStorage.setItem('kc-callback-noexpiry', JSON.stringify({ state: 'x' }))
      localStorage.setItem('kc-callback-bad', '{not json')
      localStorage.setItem('kc-other', 'kept')
      await window.d.call('init', false, { checkLoginIframe: false })
    })
    const url = await page.evaluate(() => window.d.call('createLoginUrl', false, { scope: 'email' }))
    const state = new URL(url).searchParams.get('state')
    assert.deepEqual(await callbackKeys(page), [`kc-callback-${state}`])
    const record = JSON.parse(await page.evaluate((k) => localStorage.getItem(k), `kc-callback-${state}`))
    assert.deepEqual(Object.keys(record), ['state', 'nonce', 'redirectUri', 'loginOptions', 'pkceCodeVerifier', 'expires'])
    assert.ok(Math.abs(record.expires - Date.now() - 3600000) < 10000, 'expires in an hour')
    assert.equal(await page.evaluate(() => localStorage.getItem('kc-other')), 'kept')
    await page.context().close()
  })

  test('a full storage: every callback entry goes, then one more try', async () => {
    const page = await driverPage()
    await page.evaluate(async () => {
      localStorage.clear()
      await window.d.call('init', false, { checkLoginIframe: false })
      await window.d.call('createLoginUrl', false)
      const setItem = Storage.prototype.setItem
      let failures = 1
      Storage.prototype.setItem = function (k, v) {
        if (k.startsWith('kc-callback-') && failures-- > 0) throw new DOMException('full', 'QuotaExceededError')
        return setItem.call(this, k, v)
      }
    })
    await page.evaluate(() => window.d.call('createLoginUrl', false))
    assert.equal((await callbackKeys(page)).length, 1, 'the earlier entry was cleared for the retry')
    const e = await page.evaluate(() => {
      const setItem = Storage.prototype.setItem
      Storage.prototype.setItem = function (k, v) {
        if (k.startsWith('kc-callback-')) throw new DOMException('full', 'QuotaExceededError')
        return setItem.call(this, k, v)
      }
      return window.d.call('createLoginUrl', false).then(() => 'stored', (x) => x.name)
    })
    assert.equal(e, 'QuotaExceededError', 'a second failure rejects createLoginUrl with the browser\'s error')
    await page.context().close()
  })

  test('localStorage that cannot be reached: the record goes to a cookie, is read once and expired', async () => {
    const page = await driverPage("Object.defineProperty(window, 'localStorage', { get () { throw new DOMException('denied', 'SecurityError') } })")
    const now = Math.floor(Date.now() / 1000)
    await page.route(`${REALM}/realms/demo/protocol/openid-connect/token`, (route) => {
      const nonce = JSON.parse(decodeURIComponent(route.request().postData().match(/code=([^&]*)/)[1]))
      route.fulfill({ contentType: 'application/json', headers: { 'access-control-allow-origin': app.baseUrl, 'access-control-allow-credentials': 'true' }, body: JSON.stringify({ access_token: jwt({ sub: 'u', iat: now, exp: now + 60 }), refresh_token: jwt({ typ: 'Refresh' }), id_token: jwt({ sub: 'u', iat: now, exp: now + 60, nonce }) }) })
    })
    await page.evaluate(() => window.d.call('init', false, { checkLoginIframe: false }))
    const url = new URL(await page.evaluate(() => window.d.call('createLoginUrl', false)))
    const [state, nonce] = ['state', 'nonce'].map((k) => url.searchParams.get(k))
    assert.ok((await page.evaluate(() => document.cookie)).includes(`kc-callback-${state}=`), 'the state waits in a cookie')
    // The nonce travels back as the code, and the route puts it into the ID token.
    const callback = `${app.baseUrl}/#state=${state}&code=${encodeURIComponent(JSON.stringify(nonce))}`
    assert.equal(await page.evaluate((u) => window.d.call('handleCallback', false, u), callback), true)
    assert.ok(!(await page.evaluate(() => document.cookie)).includes('kc-callback-'), 'read once: the cookie is expired')
    await page.context().close()
  })
})

describe('effects and completions', () => {
  test('only messages from the machine\'s own frames reach it', async () => {
    const page = await driverPage()
    const kinds = await page.evaluate(async () => {
      await window.d.call('init', false, { checkLoginIframe: false })
      const foreign = document.createElement('iframe')
      document.body.append(foreign)
      window.inputs.length = 0
      foreign.contentWindow.parent.postMessage('changed', '*') // from the page itself (source = window)
      window.postMessage('changed', '*')
      await new Promise((resolve) => setTimeout(resolve, 50))
      return window.inputs
    })
    assert.deepEqual(kinds, [])
    await page.context().close()
  })

  test('an effect the browser refuses fails the call it belongs to', async () => {
    const page = await driverPage()
    const r = await page.evaluate(async () => {
      document.body.remove() // no body: the probe frame cannot be appended
      return window.d.call('init', false, { onLoad: 'check-sso' }).then(() => 'resolved', (e) => `${e.name}: ${e.message}`)
    })
    assert.match(r, /^TypeError: /)
    await page.context().close()
  })

  test('handles are released: a failed refresh shared by two callers leaves none behind', async () => {
    const page = await driverPage()
    const now = Math.floor(Date.now() / 1000)
    // init's forced refresh succeeds; the next refresh is refused.
    let refreshes = 0
    await page.route(`${REALM}/realms/demo/protocol/openid-connect/token`, (route) => {
      const headers = { 'access-control-allow-origin': app.baseUrl, 'access-control-allow-credentials': 'true' }
      if (refreshes++ === 0) return route.fulfill({ headers, contentType: 'application/json', body: JSON.stringify({ access_token: jwt({ sub: 'u', iat: now, exp: now + 60 }), refresh_token: jwt({ typ: 'Refresh' }) }) })
      route.fulfill({ status: 400, headers, contentType: 'application/json', body: '{"error":"invalid_grant"}' })
    })
    const r = await page.evaluate(async ([token, refresh]) => {
      await window.d.call('init', false, { checkLoginIframe: false, token, refreshToken: refresh, timeSkew: 0 })
      const before = window.d.h.size
      const [a, b] = await Promise.allSettled([window.d.call('updateToken', false, -1), window.d.call('updateToken', false, -1)])
      return { before, after: window.d.h.size, same: a.reason === b.reason, status: a.reason?.response?.status, message: a.reason?.message }
    }, [jwt({ sub: 'u', iat: now, exp: now + 60 }), jwt({ typ: 'Refresh' })])
    assert.deepEqual(r, { before: 0, after: 0, same: true, status: 400, message: 'Server responded with an invalid status.' })
    await page.context().close()
  })
})

describe('syncTabs services', () => {
  // Runs effects in the page and collects the inputs they send back (kind and arguments).
  const effects = (page, list, wait = 100) => page.evaluate(async ([list, wait]) => {
    const got = []
    const send = window.d.send
    window.d.send = (kind, ...args) => { if (kind === 'ret' || kind === 'tab') got.push([kind, ...args]); return send.call(window.d, kind, ...args) }
    for (const e of list) window.d.run(e, [])
    // Every cas is answered (however loaded the machine), then `wait` more for anything extra.
    const want = list.filter((e) => e[0] === 'cas').length
    for (let t = 0; got.length < want && t < 5000; t += 10) await new Promise((resolve) => setTimeout(resolve, 10))
    await new Promise((resolve) => setTimeout(resolve, wait))
    window.d.send = send
    return got
  }, [list, wait])

  test('cas: one IndexedDB record replaced only when it is what the machine expects; two pages racing, one wins', async () => {
    const a = await driverPage('', true)
    const b = await secondDriverPage(a)
    assert.deepEqual(await effects(a, [['cas', 901, 'k', '', 'never']]), [['ret', 901, 0, 0, null]], 'absent: a read')
    assert.deepEqual(await effects(a, [['cas', 902, 'k', null, 'one']]), [['ret', 902, 1, 0, null]])
    assert.deepEqual(await effects(b, [['cas', 903, 'k', null, 'two']]), [['ret', 903, 0, 0, 'one']], 'the other page sees it')
    // Both pages try to replace "one" at once: IndexedDB orders the transactions.
    const [ra, rb] = await Promise.all([effects(a, [['cas', 904, 'k', 'one', 'a']]), effects(b, [['cas', 905, 'k', 'one', 'b']])])
    const wins = [ra[0][2], rb[0][2]]
    assert.deepEqual(wins.sort(), [0, 1], `exactly one wins: ${JSON.stringify([ra, rb])}`)
    const loser = ra[0][2] ? rb[0] : ra[0]
    assert.ok(['a', 'b'].includes(loser[4]), 'the loser is told what won')
    await a.context().close()
  })

  test('tabs: what one page posts reaches the others on the channel, not itself; no IndexedDB is an error answer', async () => {
    const a = await driverPage('', true)
    const b = await secondDriverPage(a)
    await b.evaluate(() => {
      window.heard = []
      const send = window.d.send
      window.d.send = (kind, ...args) => { if (kind === 'tab') window.heard.push([kind, ...args]); return send.call(window.d, kind, ...args) }
      window.d.run(['tabs', 'chan'], [])
    })
    const sent = await effects(a, [['tabs', 'chan'], ['tabpost', '{"t":"out"}']])
    assert.deepEqual(sent, [], 'not to itself')
    await b.waitForFunction(() => window.heard.length > 0, null, { timeout: 5000 })
    assert.deepEqual(await b.evaluate(() => window.heard), [['tab', '{"t":"out"}']])
    const c = await driverPage('delete window.indexedDB', true)
    const r = await effects(c, [['cas', 906, 'k', null, 'x']])
    assert.equal(r[0][0], 'ret')
    assert.equal(r[0][2], 0)
    assert.ok(r[0][3] > 0, 'an error handle')
    await Promise.all([a.context().close(), c.context().close()])
  })
})

describe('the machine without the additions (the package\'s default)', () => {
  test('refuses an option that needs them before any request, with a clear error; wipe still clears what an earlier load kept', async () => {
    const page = await driverPage()
    const r = await page.evaluate(async () => {
      sessionStorage.setItem('kw-kept', 'sealed')
      window.d.run(['wipe', 'session', 'kw-kept'], [])
      const kept = sessionStorage.getItem('kw-kept')
      const before = !!window.d.refused
      const refused = await window.d.call('init', false, { verifyTokens: true }).then(() => null, (x) => x.message)
      return { kept, refused, inputs: window.inputs, flagged: [before, window.d.refused] }
    })
    assert.equal(r.kept, null)
    assert.match(r.refused ?? '', /^keycloak-wasm: this instance runs without its additions/)
    assert.deepEqual(r.flagged, [false, [30000, 'keycloak-wasm: the module with the additions (keycloak.extras.js) did not load within requestTimeout.']], 'the extras effect tells the facade, with the bound on loading them and the error past it')
    assert.ok(!r.inputs.includes('http'), `no request: ${r.inputs}`)
    await page.context().close()
  })
})

describe('dpop services', () => {
  test('sign: a signature WebCrypto never gives is a failed answer after the timeout the machine set', async () => {
    const page = await driverPage('crypto.subtle.sign = () => new Promise(() => {})', true)
    const r = await page.evaluate(async () => {
      const got = []
      const kept = []
      const { send, keep } = window.d
      window.d.send = (kind, ...args) => { if (kind === 'ret') got.push([kind, ...args]); return send.call(window.d, kind, ...args) }
      window.d.keep = (value) => { kept.push(value?.name); return keep.call(window.d, value) }
      const t0 = performance.now()
      window.d.run(['sign', 907, 'e30.e30', 300], [])
      while (!got.length && performance.now() - t0 < 5000) await new Promise((resolve) => setTimeout(resolve, 20))
      return { got, ms: performance.now() - t0, name: kept[0] }
    })
    assert.equal(r.got.length, 1)
    assert.deepEqual(r.got[0].slice(0, 3), ['ret', 907, 0])
    assert.equal(r.name, 'TimeoutError')
    assert.ok(r.ms >= 290 && r.ms < 3000, `answered after ${r.ms} ms`)
    await page.context().close()
  })
})

describe('persistSession vault', () => {
  // [seal, mode, name, text] and [unseal, id, mode, name]; answers come as `ret` inputs.
  const vault = (page, list) => page.evaluate(async (list) => {
    const got = []
    const send = window.d.send
    window.d.send = (kind, ...args) => { if (kind === 'ret') got.push(args); return send.call(window.d, kind, ...args) }
    for (const e of list) window.d.run(e, [])
    await window.d.queue // the latest job (each list here has one)
    window.d.send = send
    return got
  }, list)

  // A WebCrypto or IndexedDB that never answers (or answers late) for one seal: the wipe of a
  // logout and the tokens of a later seal do not wait for it, and it writes nothing once done.
  test('a wipe does not wait for a seal still encrypting; a seal that finishes after a later seal or a wipe writes nothing', async () => {
    const page = await driverPage('const encrypt = crypto.subtle.encrypt.bind(crypto.subtle); window.held = []; crypto.subtle.encrypt = (...a) => (window.hold ? new Promise((resolve) => window.held.push(() => resolve(encrypt(...a)))) : encrypt(...a))', true)
    await page.evaluate(() => localStorage.clear())
    await vault(page, [['seal', 'local', 'kw-c', 'first']])
    const first = await page.evaluate(() => localStorage.getItem('kw-c'))
    assert.ok(first, 'sealed')
    const r = await page.evaluate(async () => {
      // Bounded waits: the encryption held (`n` of them), a job done.
      const encrypting = async (n) => { for (let t = 0; window.held.length < n && t < 2000; t += 5) await new Promise((resolve) => setTimeout(resolve, 5)) }
      const done = (job) => Promise.race([job, new Promise((resolve) => setTimeout(resolve, 2000))])
      window.hold = true
      window.d.run(['seal', 'local', 'kw-c', 'second'], [])
      await encrypting(1)
      window.d.run(['wipe', 'local', 'kw-c'], [])
      const wiped = localStorage.getItem('kw-c')
      window.held[0]?.()
      await done(window.d.queue)
      const afterWipe = localStorage.getItem('kw-c')
      // Two seals, the first one slower: the second one's tokens stay.
      window.d.run(['seal', 'local', 'kw-c', 'third'], [])
      await encrypting(2)
      window.hold = false
      window.d.run(['seal', 'local', 'kw-c', 'fourth'], [])
      await done(window.d.queue)
      window.held[1]?.()
      await new Promise((resolve) => setTimeout(resolve, 100))
      return { wiped, afterWipe }
    })
    assert.equal(r.wiped, null, 'the wipe did not wait for the seal')
    assert.equal(r.afterWipe, null, 'the seal that finished after the wipe wrote nothing')
    assert.deepEqual(await vault(page, [['unseal', 909, 'local', 'kw-c']]), [[909, 1, 0, 'fourth']], 'the later seal\'s text, not the slower earlier one\'s')
    await page.context().close()
  })

  test('a reload reads the kept key and makes none; a key read that failed once is tried again', async () => {
    // The first IndexedDB transaction of the page fails, as a busy or closing database may.
    const page = await driverPage("let n = 0; const t = IDBDatabase.prototype.transaction; IDBDatabase.prototype.transaction = function (...a) { if (n++ === 0) throw new DOMException('busy', 'InvalidStateError'); return t.apply(this, a) }", true)
    await page.evaluate(() => localStorage.clear())
    await vault(page, [['seal', 'local', 'kw-a', 'lost']])
    assert.equal(await page.evaluate(() => localStorage.getItem('kw-a')), null, 'the failed seal keeps nothing')
    await vault(page, [['seal', 'local', 'kw-b', 'kept']])
    assert.ok(await page.evaluate(() => localStorage.getItem('kw-b')), 'the next seal tried the key again')
    // Another load of the same origin: unsealing reads the key the first one made.
    const next = await secondDriverPage(page)
    const made = await next.evaluate(() => {
      window.made = 0
      const generate = crypto.subtle.generateKey.bind(crypto.subtle)
      crypto.subtle.generateKey = (...a) => { window.made++; return generate(...a) }
      return window.made
    })
    assert.equal(made, 0)
    const answers = await vault(next, [['unseal', 908, 'local', 'kw-b']])
    assert.deepEqual(answers, [[908, 1, 0, 'kept']])
    assert.equal(await next.evaluate(() => window.made), 0, 'no key made for a read')
    await page.context().close()
  })
})
