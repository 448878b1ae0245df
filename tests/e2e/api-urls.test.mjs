// URL building (reference §2.2, §7, §8): for the same init options and the same
// arguments, keycloak-wasm and keycloak-js must build the same login, register, logout
// and account URLs: same endpoint, same parameters in the same order, same encoding.
// Only the random values (state, nonce, code_challenge) may differ; they are checked
// for shape and then masked. Each test collects both adapters' URLs and compares them;
// a second set of tests checks keycloak-js's documented output on each adapter alone.
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { openApp, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/
const enc = (s) => new URLSearchParams({ x: s }).toString().slice(2)

// Arguments use {{APP}} for the app origin (the same for both adapters).
const LOGIN_OPTIONS = [
  {},
  { scope: 'openid profile' },
  { scope: 'profile email openidlike' },
  { scope: 'email openid' },
  { redirectUri: '{{APP}}/cb?x=1&y=a b#frag' },
  { prompt: 'login' },
  { prompt: 'none' },
  { prompt: 'consent' },
  { maxAge: 0 },
  { maxAge: 3600 },
  { loginHint: 'alice@example.com' },
  { idpHint: 'github' },
  { action: 'register' },
  { action: 'UPDATE_PASSWORD' },
  { locale: 'nl-NL nl' },
  { acr: { values: ['foo', 'bar'], essential: false } },
  { acrValues: 'gold silver' },
  { scope: 'email', redirectUri: '{{APP}}/all', prompt: 'login', maxAge: 60, loginHint: 'bob', idpHint: 'idp', action: 'UPDATE_PROFILE', locale: 'de', acr: { values: ['x'], essential: true }, acrValues: 'y z' }
]
const CALLS = [
  ...LOGIN_OPTIONS.map((o) => ['createLoginUrl', o]),
  ['createLoginUrl'],
  ['createRegisterUrl'],
  ['createRegisterUrl', { loginHint: 'new@example.com', locale: 'fr', scope: 'email' }],
  ['createRegisterUrl', { redirectUri: '{{APP}}/after-register' }],
  ['createLogoutUrl'],
  ['createLogoutUrl', { redirectUri: '{{APP}}/bye?a=1' }],
  ['createLogoutUrl', { logoutMethod: 'POST' }],
  ['createLogoutUrl', { logoutMethod: 'GET' }],
  ['createAccountUrl'],
  ['createAccountUrl', { redirectUri: '{{APP}}/back#x' }]
]

const INITS = [
  { name: 'default init options', init: {} },
  { name: "init scope 'email profile'", init: { scope: 'email profile' } },
  { name: "init scope 'openid phone'", init: { scope: 'openid phone' } },
  { name: "init responseMode 'query'", init: { responseMode: 'query' } },
  { name: "init flow 'implicit'", init: { flow: 'implicit' } },
  { name: "init flow 'hybrid'", init: { flow: 'hybrid' } },
  { name: 'init pkceMethod false', init: { pkceMethod: false } },
  { name: 'init useNonce false', init: { useNonce: false } },
  { name: 'init redirectUri', init: { redirectUri: '{{APP}}/init-redirect?q=1#h' } },
  { name: "init logoutMethod 'POST'", init: { logoutMethod: 'POST' } }
]

const fill = (value) => JSON.parse(JSON.stringify(value ?? null).replaceAll('{{APP}}', stack.appOrigin))

/** Every CALL's result on one adapter after init(options); errors as 'throws: message'. */
async function collect (impl, init) {
  const page = await newPage(browser)
  try {
    await openApp(page, stack, impl, { checkLoginIframe: false, ...fill(init) })
    assert.equal(await settled(page), 'not authenticated')
    const calls = CALLS.map(([m, a]) => [m, fill(a)])
    const results = await page.evaluate(async (calls) => {
      const out = []
      for (const [method, arg] of calls) {
        try {
          out.push(await (arg === null ? window.keycloak[method]() : window.keycloak[method](arg)))
        } catch (e) {
          out.push(`throws: ${e?.message ?? e}`)
        }
      }
      return out
    }, calls)
    assert.deepEqual(page.errors, [])
    return results
  } finally {
    await page.context().close()
  }
}

/**
 * Masks the random values after checking their shape, and the adapter's own page URL
 * (the default redirect URI: `/` or `/keycloak-js/`) as APP_PAGE.
 */
function normalise (url, impl) {
  if (typeof url !== 'string' || url.startsWith('throws:')) return url
  const u = new URL(url)
  for (const [key, shape] of [['state', UUID], ['nonce', UUID], ['code_challenge', CHALLENGE]]) {
    const v = u.searchParams.get(key)
    if (v !== null) assert.match(v, shape, `${key} in ${url}`)
  }
  return url
    .replace(/([?&]state=)[^&#]*/, '$1STATE')
    .replace(/([?&]nonce=)[^&#]*/, '$1NONCE')
    .replace(/([?&]code_challenge=)[^&#]*/, '$1CHALLENGE')
    .replace(new RegExp(enc(stack.appUrl(impl)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '(?=&|$)', 'g'), 'APP_PAGE')
}

const label = ([m, a]) => `${m}(${a === undefined ? '' : JSON.stringify(a)})`

describe('both adapters build the same URLs', () => {
  for (const { name, init } of INITS) {
    test(name, async () => {
      const [wasm, js] = await Promise.all(IMPLS.map((impl) => collect(impl, init)))
      const mismatches = []
      CALLS.forEach((call, i) => {
        const a = normalise(wasm[i], 'keycloak-wasm')
        const b = normalise(js[i], 'keycloak-js')
        if (a !== b) mismatches.push(`${label(call)}\n  keycloak-wasm: ${a}\n  keycloak-js:   ${b}`)
      })
      assert.deepEqual(mismatches, [], mismatches.join('\n'))
    })
  }
})

// keycloak-js's documented output (reference §2.2, §7), checked on each adapter alone.
for (const impl of IMPLS) {
  describe(`${impl}: documented URL shapes`, () => {
    let results, realm
    before(async () => {
      results = await collect(impl, {})
      realm = `${stack.realmUrl}/realms/demo`
    })
    const result = (method, arg) => {
      const i = CALLS.findIndex(([m, a]) => m === method && JSON.stringify(a) === JSON.stringify(arg))
      return normalise(results[i], impl)
    }
    const auth = (query) => `${realm}/protocol/openid-connect/auth?${query}`
    const base = 'client_id=demo-app&redirect_uri=APP_PAGE&state=STATE&response_mode=fragment&response_type=code'

    test('default login URL: parameter order and values', () => {
      assert.equal(result('createLoginUrl', {}), auth(`${base}&scope=openid&nonce=NONCE&code_challenge=CHALLENGE&code_challenge_method=S256`))
      assert.equal(result('createLoginUrl'), result('createLoginUrl', {}))
    })

    test("scope: 'openid' prepended unless present as a whole word; spaces as '+'", () => {
      assert.match(result('createLoginUrl', { scope: 'profile email openidlike' }), /&scope=openid\+profile\+email\+openidlike&/)
      assert.match(result('createLoginUrl', { scope: 'email openid' }), /&scope=email\+openid&/)
    })

    test('maxAge 0 is sent; prompt, hints, locale, acr, acrValues in order', () => {
      assert.match(result('createLoginUrl', { maxAge: 0 }), /&nonce=NONCE&max_age=0&code_challenge=/)
      const all = result('createLoginUrl', LOGIN_OPTIONS.at(-1))
      const keys = [...new URL(all).searchParams.keys()]
      assert.deepEqual(keys, ['client_id', 'redirect_uri', 'state', 'response_mode', 'response_type', 'scope', 'nonce', 'prompt', 'max_age', 'login_hint', 'kc_idp_hint', 'kc_action', 'ui_locales', 'claims', 'acr_values', 'code_challenge', 'code_challenge_method'])
      assert.match(all, /&ui_locales=de&claims=%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22values%22%3A%5B%22x%22%5D%2C%22essential%22%3Atrue%7D%7D%7D&acr_values=y\+z&/)
    })

    test("action 'register' switches to /registrations without kc_action", () => {
      const url = result('createLoginUrl', { action: 'register' })
      assert.ok(url.startsWith(`${realm}/protocol/openid-connect/registrations?`), url)
      assert.doesNotMatch(url, /kc_action/)
      assert.equal(result('createRegisterUrl'), url)
      assert.match(result('createLoginUrl', { action: 'UPDATE_PASSWORD' }), /&kc_action=UPDATE_PASSWORD&/)
    })

    test('logout and account URLs', () => {
      assert.equal(result('createLogoutUrl'), `${realm}/protocol/openid-connect/logout?client_id=demo-app&post_logout_redirect_uri=APP_PAGE`)
      assert.equal(result('createLogoutUrl', { logoutMethod: 'POST' }), `${realm}/protocol/openid-connect/logout`)
      assert.equal(result('createAccountUrl'), `${realm}/account?referrer=demo-app&referrer_uri=APP_PAGE`)
      assert.equal(result('createAccountUrl', { redirectUri: '{{APP}}/back#x' }), `${realm}/account?referrer=demo-app&referrer_uri=${enc(`${stack.appOrigin}/back#x`)}`)
    })
  })
}
