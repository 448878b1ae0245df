// The flows users run, in one engine, against keycloak-wasm and keycloak-js alike: the
// app on http://app.localhost, the realm on https://idp.localhost (another site; HTTPS
// because WebKitGTK drops Secure cookies set over plain http), and a second app site,
// http://shop.localhost, for a session the user opened elsewhere (SSO). The engine keeps
// its default third-party-cookie rules, so the realm's cookies are blocked in its iframes
// and the adapters must notice (the probe) and fall back to redirects.
//
// Each package gets a browser session of its own: Firefox gives the realm's iframes
// storage access in every site once the user has interacted with the realm as a top-level
// page (typed a login there), a grant no WebDriver command takes back, so the tests of a
// session run in order: never logged in; a session made without interaction (the form
// submitted by script); a typed login.
//
// What is checked is what a user or the realm sees: the page's state and tokens, the
// realm's request log (which requests came, top-level redirects included), the answers of
// the realm's own probe and status pages.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { launchEngine, missingForEngine } from '../support/engines.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { askStatusIframe, probeThirdPartyCookies } from '../support/in-page.mjs'
import { COMPILE_ERROR, strictPolicy } from '../support/csp.mjs'
import { useStack } from '../support/use-stack.mjs'

const OTHER_SITE = 'shop.localhost'
const OIDC = '/realms/demo/protocol/openid-connect'

/**
 * The configurations, with what each was observed to do. `sees(when)`: whether the realm's
 * pages in an iframe of the app's page get its cookies, `when` being 'fresh' (no login
 * yet), 'scripted' (a session made with no user interaction with the realm) or 'typed'
 * (the user typed a login on the realm's page). `probe(when)`: the realm's probe answer.
 *
 * - firefox: its defaults (Total Cookie Protection): blocked until the user interacts
 *   with the realm as a top-level page; from then on its iframes have storage access.
 * - webkit: ITP on, as Safari ships it: always blocked.
 * - webkit-gtk: WebKitGTK's own defaults (ITP off, third-party cookies may not be set):
 *   the realm's existing cookies reach its iframes, yet the probe (which sets one) answers
 *   "unsupported", so the adapters take the fallbacks all the same.
 */
export const CONFIGS = {
  firefox: { engine: 'firefox', args: [], rules: 'Total Cookie Protection (default)', sees: (when) => when === 'typed', probe: (when) => (when === 'typed' ? 'supported' : 'unsupported') },
  webkit: { engine: 'webkit', args: ['--enable-itp'], rules: 'ITP on, as in Safari', sees: () => false, probe: () => 'unsupported' },
  'webkit-gtk': { engine: 'webkit', args: [], rules: 'WebKitGTK defaults: ITP off, no third-party cookie setting', sees: () => true, probe: () => 'unsupported' }
}

/** Registers the suite for one of CONFIGS. */
export function engineSuite (name) {
  const config = CONFIGS[name]
  const engine = config.engine
  const missing = missingForEngine(engine)
  if (missing.length > 0) {
    test(`${name}: not installed (${missing.join(', ')}; run npm run setup -- --browser)`, { skip: true })
    return
  }
  const { stack } = useStack({ tls: true, requestLog: true, otherHosts: [OTHER_SITE], browser: false })

  for (const impl of IMPLS) {
    describe(`${engine} (${config.rules}): ${impl}`, { timeout: 120000 }, () => {
      let b
      before(async () => { b = await launchEngine(engine, { args: config.args }) })
      after(async () => { await b?.quit() })

      /**
       * A test of this suite. The engines' browsers die now and then under a test (WebKitGTK
       * ends the WebDriver session when a page's process crashes; seen once in CI, in no
       * local run): no verdict on the adapter, yet every later test would fail on the dead
       * session. So a test that fails with its session gone reports the browser's log,
       * gets a new browser, the state it needs from the tests before (`restore`) and one
       * more run, which decides. A failure with the session alive is a failure.
       */
      const step = (name, fn, restore) => test(name, async (t) => {
        try {
          await fn()
        } catch (e) {
          if (await b.alive()) throw e
          const report = `the browser's session ended under this test (${e.name}: ${e.message}); its log:\n${b.log().slice(-3000)}\na new browser${restore ? ', the state the test needs' : ''}, and the test once more`
          t.diagnostic(report)
          console.error(`# ${name}: ${report}`)
          await b.quit()
          b = await launchEngine(engine, { args: config.args })
          if (restore) await restore()
          await fn()
        }
      })
      // The states later tests take from the tests before, made anew for step()'s new browser.
      const restoreScripted = () => logInElsewhere({ typed: false })
      const restoreLoggedIn = async () => {
        await openApp({ onLoad: 'login-required', checkLoginIframe: false }, undefined, { settle: false })
        await submitLogin()
      }

      const appUrl = (host) => stack.appUrl(impl, host)
      const silentUri = () => new URL('/silent-check-sso.html', appUrl()).href
      // The realm's requests from `mark` on, once one matches `wanted` (or 5 s passed: the
      // log arrives through a pipe, a moment after the page saw the answer).
      const requestsSince = async (mark, wanted) => {
        await b.until(() => stack.realmRequests().slice(mark).some((l) => wanted.test(l)), `a realm request matching ${wanted}`, 5000).catch(() => {})
        return stack.realmRequests().slice(mark)
      }
      // A top-level prompt=none redirect back to the app page (the check-sso redirect or the fallback).
      const redirectBack = (host) => new RegExp(`^GET ${OIDC}/auth\\?.*redirect_uri=${reEscape(encodeURIComponent(appUrl(host)))}&.*prompt=none`)
      const silentAuth = () => new RegExp(`^GET ${OIDC}/auth\\?.*redirect_uri=${reEscape(encodeURIComponent(silentUri()))}&.*prompt=none`)
      const tokenPost = new RegExp(`^POST ${OIDC}/token -> 200$`)

      /** Deletes the realm's cookies (WebDriver reaches only the current document's origin). */
      async function clearRealmCookies () {
        await b.clearCookies(`${stack.realmUrl}${OIDC}/login-status-iframe.html`)
        assert.deepEqual(await b.cookies(), [])
      }

      /** Opens the app (fresh storage, the given init options); resolves once init settled. */
      async function openApp (initOptions, host, { settle = true } = {}) {
        await b.get(new URL('/app.css', appUrl(host)).href)
        await b.driver.executeScript('localStorage.clear(); sessionStorage.clear(); sessionStorage.setItem("demo.init", arguments[0])', JSON.stringify(initOptions))
        const mark = stack.realmRequests().length
        await b.get(appUrl(host))
        if (!settle) return mark
        await b.waitText('init-result', /resolved|rejected/)
        await b.waitText('status', /authenticated/)
        return mark
      }

      /**
       * Fills the realm's login form as alice; waits to be back on the app, authenticated.
       * `typed: false` fills and submits it by script: the browser records no user
       * interaction with the realm (Firefox grants storage access on such interaction).
       */
      async function submitLogin (host, { typed = true } = {}) {
        await b.until(() => b.driver.executeScript('return location.hostname === "idp.localhost" && !!document.getElementById("username")'), 'the realm\'s login form')
        if (typed) {
          await b.fill('username', 'alice')
          await b.fill('password', 'alice')
          await b.click('kc-login')
        } else {
          await b.driver.executeScript('const u = document.getElementById("username"); u.value = "alice"; document.getElementById("password").value = "alice"; u.form.submit()')
        }
        await b.until(async () => (await b.url()).startsWith(appUrl(host)), 'back on the app')
        await b.waitText('status', /^authenticated$/)
      }

      /** Logs alice in on the other site (SSO: the realm's session exists before the app asks). */
      async function logInElsewhere (opts) {
        await clearRealmCookies()
        await openApp({ checkLoginIframe: false }, OTHER_SITE)
        await b.click('login')
        await submitLogin(OTHER_SITE, opts)
        const { sid } = await state()
        assert.ok(sid, 'a session id in the token')
        return sid
      }

      /** What the realm's status page answers for `sid` in an iframe of the app's page. */
      async function statusAnswer (sid) {
        await b.get(silentUri())
        return b.evaluate(askStatusIframe, [stack.realmUrl, 'demo-app', sid])
      }

      const probe = async () => {
        await b.get(silentUri())
        return b.evaluate(probeThirdPartyCookies, `${stack.realmUrl}${OIDC}/3p-cookies/step1.html`)
      }
      // The adapter events the demo app logged, oldest first.
      const events = () => b.driver.executeScript('return [...document.querySelectorAll("#events li")].map((li) => li.textContent.split(" ")[1])')
      const state = () => b.driver.executeScript('const k = window.keycloak; return { authenticated: k.authenticated, token: k.token ?? null, refreshToken: k.refreshToken ?? null, username: k.tokenParsed?.preferred_username ?? null, sid: k.tokenParsed?.sid ?? null, url: location.href }')

      step('with no login yet, the realm\'s probe in the app\'s page answers "unsupported"', async () => {
        assert.equal(await probe(), 'unsupported')
      })

      // The status iframe's page asks the realm to check the client (/init) only when it
      // has storage access; keycloak-js loads it only after the probe passed, ours beside the
      // probe (and drops it when the probe fails).
      const noStatusInit = (seen, when) => {
        if (impl === 'keycloak-js' || !config.sees(when)) assert.ok(!seen.some((l) => l.includes('login-status-iframe.html/init')), `the status iframe is not used: ${seen.join('\n')}`)
      }

      step(`the package loads${impl === 'keycloak-wasm' ? ' (the wasm compiles)' : ''}; check-sso without a session: the probe, then a prompt=none redirect, not authenticated`, async () => {
        await clearRealmCookies()
        const mark = await openApp({ onLoad: 'check-sso' })
        assert.equal(await b.text('init-result'), 'resolved')
        assert.equal(await b.text('error'), '')
        // Ours carries its own symbol: proof that the page runs keycloak-wasm, not keycloak-js.
        assert.equal(await b.driver.executeScript('return Object.getOwnPropertySymbols(window.keycloak).some((s) => s.description === "keycloak-wasm.call")'), impl === 'keycloak-wasm')
        const s = await state()
        assert.equal(s.authenticated, false)
        assert.equal(s.token, null)
        assert.doesNotMatch(s.url, /[?#&](error|state|code)=/)
        const seen = await requestsSince(mark, redirectBack())
        assert.ok(seen.some((l) => l.startsWith(`GET ${OIDC}/3p-cookies/step1.html `)), 'the probe ran')
        assert.ok(seen.some((l) => redirectBack().test(l)), `a prompt=none redirect: ${seen.join('\n')}`)
        noStatusInit(seen, 'fresh')
        assert.ok(!seen.some((l) => tokenPost.test(l)))
      })

      /**
       * A session opened on the other site (SSO), then what the app's page sees of it: the
       * realm's status page and probe asked from it, and silent check-sso with the fallback off.
       */
      async function sessionElsewhere (when) {
        const sid = await logInElsewhere({ typed: when === 'typed' })
        const sees = config.sees(when)
        assert.equal(await statusAnswer(sid), sees ? 'unchanged' : 'error', 'the realm\'s status page, asked from the app\'s page')
        assert.equal(await probe(), config.probe(when))
        const mark = await openApp({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silentUri(), silentCheckSsoFallback: false })
        // Without the session cookie, the silent iframe's request gets login_required.
        const seen = await requestsSince(mark, sees ? tokenPost : silentAuth())
        assert.ok(seen.some((l) => silentAuth().test(l)), `the silent iframe asked the realm: ${seen.join('\n')}`)
        assert.ok(!seen.some((l) => redirectBack().test(l)), 'no top-level redirect')
        assert.equal(seen.some((l) => tokenPost.test(l)), sees, 'a code was exchanged')
        const s = await state()
        assert.equal(s.authenticated, sees)
        if (sees) assert.equal(s.username, 'alice')
        assert.equal(await b.text('init-result'), 'resolved')
        if (config.probe(when) === 'supported') {
          await requestsSince(mark, /login-status-iframe\.html\/init/)
          assert.ok(stack.realmRequests().slice(mark).some((l) => l.includes('login-status-iframe.html/init')), 'the probe passed: the status iframe checks the client')
        } else {
          noStatusInit(seen, when)
        }
      }

      const outcome = (when) => `${config.sees(when) ? 'its iframes get the realm\'s cookies (status page "unchanged")' : 'the realm\'s cookies are blocked in its iframes (status page "error")'}, the probe answers "${config.probe(when)}"; silent check-sso without the fallback ${config.sees(when) ? 'logs in' : 'stays unauthenticated'}, with no redirect`

      step(`a session opened on another site (${OTHER_SITE}) with the login form submitted by script (no user interaction with the realm): ${outcome('scripted')}`, () => sessionElsewhere('scripted'))

      step('silent check-sso with that session: the probe notices, the silentCheckSsoFallback redirect logs in', async () => {
        assert.equal(config.probe('scripted'), 'unsupported')
        const mark = await openApp({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silentUri() })
        await b.waitText('status', /^authenticated$/)
        const s = await state()
        assert.equal(s.username, 'alice')
        assert.ok(s.token && s.refreshToken)
        assert.doesNotMatch(s.url, /[?#&](state|code)=/)
        const seen = await requestsSince(mark, tokenPost)
        assert.ok(seen.some((l) => l.startsWith(`GET ${OIDC}/3p-cookies/step1.html `)), 'the probe ran')
        assert.ok(seen.some((l) => redirectBack().test(l)), `the fallback: a top-level prompt=none redirect: ${seen.join('\n')}`)
        assert.ok(seen.some((l) => tokenPost.test(l)))
        if (impl === 'keycloak-js') assert.ok(!seen.some((l) => silentAuth().test(l)), 'keycloak-js drops the silent iframe once the probe failed')
        noStatusInit(seen, 'scripted')
        // What the user sees: a plain login on the page that came back, no error, no logout.
        assert.deepEqual(await events(), ['onAuthSuccess', 'onReady'])
        assert.equal(await b.text('error'), '')
      }, restoreScripted)

      step('check-sso by redirect with that session: authenticated after a prompt=none round trip', async () => {
        const mark = await openApp({ onLoad: 'check-sso', checkLoginIframe: false })
        await b.waitText('status', /^authenticated$/)
        assert.equal((await state()).username, 'alice')
        const seen = await requestsSince(mark, tokenPost)
        assert.ok(seen.some((l) => redirectBack().test(l)), seen.join('\n'))
        assert.ok(!seen.some((l) => l.includes('3p-cookies')), 'no probe with the status iframe off and no silent check')
      }, restoreScripted)

      step(`a login typed on another site (${OTHER_SITE}): ${outcome('typed')}`, () => sessionElsewhere('typed'))

      step('login-required: the realm\'s login page, then back authenticated with tokens', async () => {
        await clearRealmCookies()
        await b.get(new URL('/app.css', appUrl()).href)
        await b.driver.executeScript('localStorage.clear(); sessionStorage.clear(); sessionStorage.setItem("demo.init", "{}"); sessionStorage.setItem("demo.onLoad", "login-required")')
        const mark = stack.realmRequests().length
        await b.get(appUrl())
        await submitLogin()
        const s = await state()
        assert.equal(s.username, 'alice')
        assert.ok(s.token && s.refreshToken)
        assert.doesNotMatch(s.url, /[?#&](state|code)=/)
        const seen = await requestsSince(mark, tokenPost)
        assert.ok(seen.some((l) => new RegExp(`^GET ${OIDC}/auth\\?.*redirect_uri=${reEscape(encodeURIComponent(appUrl()))}&`).test(l) && !l.includes('prompt=none')), seen.join('\n'))
        assert.ok(seen.some((l) => /^POST \/realms\/demo\/login-actions\/authenticate/.test(l)), 'the form was posted to the realm')
      })

      step('updateToken(-1): a refresh at the token endpoint, new tokens', async () => {
        const before = await state()
        const mark = stack.realmRequests().length
        await b.click('refresh')
        await b.waitText('refresh-result', /^(true|false|error.*)$/)
        assert.equal(await b.text('refresh-result'), 'true')
        const after = await state()
        assert.equal(after.authenticated, true)
        assert.notEqual(after.token, before.token)
        assert.ok((await requestsSince(mark, tokenPost)).some((l) => tokenPost.test(l)))
      }, restoreLoggedIn)

      step('loadUserInfo: the userinfo endpoint answers for alice', async () => {
        const mark = stack.realmRequests().length
        const info = await b.evaluate(() => window.keycloak.loadUserInfo())
        assert.equal(info.preferred_username, 'alice')
        assert.equal(await b.driver.executeScript('return window.keycloak.userInfo?.preferred_username'), 'alice')
        assert.ok((await requestsSince(mark, /userinfo -> 200$/)).some((l) => new RegExp(`^GET ${OIDC}/userinfo -> 200$`).test(l)))
      }, restoreLoggedIn)

      // keycloak-wasm/authz loads its machine as a chunk (keycloak.authz.js) and compiles it
      // in this engine; keycloak-js/authz is the control. Both ask the realm's UMA
      // configuration, then the uma-ticket grant, which fails for an unknown audience.
      step(`${impl === 'keycloak-wasm' ? 'keycloak-wasm/authz (its machine a chunk, compiled here)' : 'keycloak-js/authz'}: an entitlement for a resource server the realm does not know calls onError() with no argument`, async () => {
        const mark = stack.realmRequests().length
        const entry = impl === 'keycloak-wasm' ? '/pkg/authz.min.js' : '/vendor/keycloak-js/keycloak-authz.js'
        const r = await b.evaluate((entry) => import(entry).then(({ default: KeycloakAuthorization }) => new Promise((resolve) => {
          new KeycloakAuthorization(window.keycloak).entitlement('no-such-api').then(() => resolve('grant'), () => resolve('deny'), (...args) => resolve(`error(${args.length})`))
        })), entry)
        assert.equal(r, 'error(0)')
        const seen = await requestsSince(mark, new RegExp(`^POST ${OIDC}/token -> 400$`))
        assert.ok(seen.some((l) => /^GET \/realms\/demo\/\.well-known\/uma2-configuration -> 200$/.test(l)), seen.join('\n'))
        assert.ok(seen.some((l) => new RegExp(`^POST ${OIDC}/token -> 400$`).test(l)), seen.join('\n'))
      }, restoreLoggedIn)

      const grants = config.probe('typed') === 'supported'
      step(grants
        ? 'a logout in another tab: the status iframe answers "changed" and the adapter logs out (onAuthLogout)'
        : 'a logout in another tab: no status iframe, so the page stays authenticated; the next updateToken fails and logs out', async () => {
        await openApp({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silentUri(), checkLoginIframeInterval: 1 })
        await b.waitText('status', /^authenticated$/)
        const logoutUrl = await b.driver.executeScript('return window.keycloak.createLogoutUrl()')
        const app = await b.driver.getWindowHandle()
        await b.driver.switchTo().newWindow('tab')
        const mark = stack.realmRequests().length
        await b.get(logoutUrl)
        await b.until(() => stack.realmRequests().slice(mark).some((l) => new RegExp(`^GET ${OIDC}/logout\\?`).test(l)), 'the realm saw the logout')
        // The tab closes once its page (the app, where the logout sends it back) is done.
        await b.until(() => b.driver.executeScript('const r = document.getElementById("init-result"); return document.readyState === "complete" && (!r || /resolved|rejected/.test(r.textContent))'), 'the other tab\'s page settled')
        await b.driver.close()
        await b.driver.switchTo().window(app)
        if (grants) {
          await b.waitText('status', /^not authenticated$/, 5000)
          assert.ok((await events()).includes('onAuthLogout'))
        } else {
          await new Promise((resolve) => setTimeout(resolve, 2500))
          assert.equal(await b.text('status'), 'authenticated', 'nothing told the page')
          assert.ok(!(await events()).includes('onAuthLogout'))
          await b.click('refresh')
          await b.waitText('refresh-result', /^error/)
          assert.equal(await b.text('refresh-result'), 'error: Server responded with an invalid status.')
          await b.waitText('status', /^not authenticated$/)
          assert.deepEqual((await events()).slice(-2), ['onAuthLogout', 'onAuthRefreshError'])
        }
      }, restoreLoggedIn)

      step('logout: the realm ends the session, the app is back unauthenticated', async () => {
        // The previous test ended the session: log in again first.
        await openApp({ onLoad: 'login-required', checkLoginIframe: false }, undefined, { settle: false })
        await submitLogin()
        // The page the realm sends us back to after the logout: no login-required there.
        await b.driver.executeScript('sessionStorage.setItem("demo.init", JSON.stringify({ checkLoginIframe: false }))')
        const mark = stack.realmRequests().length
        await b.click('logout')
        await b.until(async () => (await b.url()).startsWith(appUrl()) && stack.realmRequests().slice(mark).some((l) => l.includes('/logout')), 'back on the app after the logout')
        await b.waitText('init-result', /resolved|rejected/)
        await b.waitText('status', /^not authenticated$/)
        assert.ok(stack.realmRequests().slice(mark).some((l) => new RegExp(`^GET ${OIDC}/logout\\?.*id_token_hint=`).test(l)), stack.realmRequests().slice(mark).join('\n'))
        // The session is gone: check-sso by redirect finds none.
        await openApp({ onLoad: 'check-sso', checkLoginIframe: false })
        assert.equal((await state()).authenticated, false)
      })

      // keycloak-wasm only: the default module refuses an addition and the facade loads the
      // machine with them (a chunk, through import()) in this engine; verifyTokens then
      // checks the login's tokens against the realm's keys with WebCrypto.
      if (impl === 'keycloak-wasm') {
        step('our additions load here: verifyTokens through the keycloak.extras.js chunk, a login\'s tokens checked', async () => {
          const mark = await openApp({ onLoad: 'login-required', checkLoginIframe: false, verifyTokens: true }, undefined, { settle: false })
          await submitLogin()
          const s = await state()
          assert.equal(s.username, 'alice')
          assert.equal(await b.driver.executeScript("return performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/keycloak.extras.js')).length"), 1, 'the chunk, once')
          assert.ok((await requestsSince(mark, /certs -> 200$/)).some((l) => new RegExp(`^GET ${OIDC}/certs -> 200$`).test(l)), "the realm's keys were fetched")
        })
      }

      // A strict Content-Security-Policy from the app server (tests/support/csp.mjs): this
      // engine compiles our wasm with 'wasm-unsafe-eval' (a login runs through it), and
      // without the directive refuses to, and init() rejects with our error. keycloak-js
      // needs no such directive.
      step(`under a strict Content-Security-Policy${impl === 'keycloak-wasm' ? " with 'wasm-unsafe-eval'" : ''}: login-required logs in`, async () => {
        stack.setPolicy(strictPolicy(stack.realmUrl, true))
        try {
          await clearRealmCookies()
          await openApp({ onLoad: 'login-required', checkLoginIframe: false }, undefined, { settle: false })
          await submitLogin()
          assert.equal((await state()).username, 'alice')
          assert.equal(await b.text('error'), '')
        } finally {
          stack.setPolicy(null)
        }
      })

      step(`under a strict Content-Security-Policy without 'wasm-unsafe-eval': ${impl === 'keycloak-wasm' ? 'init rejects with our error' : 'check-sso works all the same'}`, async () => {
        stack.setPolicy(strictPolicy(stack.realmUrl, false))
        try {
          await openApp({ onLoad: 'check-sso', checkLoginIframe: false }, undefined, { settle: false })
          await b.waitText('init-result', /resolved|rejected/)
          if (impl === 'keycloak-js') {
            assert.equal(await b.text('init-result'), 'resolved')
            assert.equal((await state()).authenticated, true, 'the session of the test before')
          } else {
            assert.equal(await b.text('init-result'), 'rejected')
            assert.equal(await b.text('error'), COMPILE_ERROR)
            // Another instance, made once the module is there (WebKit compiles it and refuses
            // the instance): its constructor does not throw, and its init() rejects alike.
            const again = await b.evaluate(() => {
              try {
                return new window.keycloak.constructor({ url: 'http://idp.invalid', realm: 'r', clientId: 'c' }).init().then(() => 'resolved', (e) => e.message)
              } catch (e) {
                return `the constructor threw: ${e.message}`
              }
            })
            assert.equal(again, COMPILE_ERROR)
          }
        } finally {
          stack.setPolicy(null)
        }
      }, restoreLoggedIn)
    })
  }
}

function reEscape (s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
