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
import { useStack } from '../support/use-stack.mjs'

const OTHER_SITE = 'shop.localhost'
const OIDC = '/realms/demo/protocol/openid-connect'

/**
 * The engines and the cookie rules they run with. Firefox: its defaults (Total Cookie
 * Protection, with its storage-access heuristics). WebKit: ITP on, as Safari ships it
 * (WebKitGTK's own MiniBrowser starts with ITP off and only the setting of third-party
 * cookies refused).
 */
export const CONFIGS = {
  firefox: { args: [], rules: 'Total Cookie Protection (default)' },
  webkit: { args: ['--enable-itp'], rules: 'Intelligent Tracking Prevention on (as in Safari)' }
}

/** Registers the suite for `engine` ('firefox' or 'webkit'). */
export function engineSuite (engine) {
  const missing = missingForEngine(engine)
  if (missing.length > 0) {
    test(`${engine}: not installed (${missing.join(', ')}; run npm run setup -- --browser)`, { skip: true })
    return
  }
  const { stack } = useStack({ tls: true, requestLog: true, otherHosts: [OTHER_SITE], browser: false })

  for (const impl of IMPLS) {
    describe(`${engine} (${CONFIGS[engine].rules}): ${impl}`, { timeout: 120000 }, () => {
      let b
      before(async () => { b = await launchEngine(engine, { args: CONFIGS[engine].args }) })
      after(async () => { await b?.quit() })

      const appUrl = (host) => stack.appUrl(impl, host)
      const silentUri = () => new URL('/silent-check-sso.html', appUrl()).href
      // The realm's requests from `mark` on; `wanted` waits (bounded) for one to match.
      const requestsSince = async (mark, wanted) => {
        if (wanted) await b.until(() => stack.realmRequests().slice(mark).some((l) => wanted.test(l)), `a realm request matching ${wanted}`, 5000).catch(() => {})
        else await new Promise((resolve) => setTimeout(resolve, 300))
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
      const state = () => b.driver.executeScript('const k = window.keycloak; return { authenticated: k.authenticated, token: k.token ?? null, refreshToken: k.refreshToken ?? null, username: k.tokenParsed?.preferred_username ?? null, sid: k.tokenParsed?.sid ?? null, url: location.href }')

      test('the engine blocks the realm\'s cookies in the app\'s iframes: the realm\'s probe answers "unsupported"', async () => {
        assert.equal(await probe(), 'unsupported')
      })

      test(`the package loads${impl === 'keycloak-wasm' ? ' (the wasm compiles)' : ''}; check-sso without a session: the probe, then a prompt=none redirect, not authenticated`, async () => {
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
        // Blocked cookies: the status iframe is not used (keycloak-js turns it off; ours drops
        // it), so its page never asks the realm to check the client.
        assert.ok(!seen.some((l) => l.includes('login-status-iframe.html/init')), seen.join('\n'))
        assert.ok(!seen.some((l) => tokenPost.test(l)))
      })

      test(`a session opened on another site (${OTHER_SITE}) without user interaction with the realm (form submitted by script): the realm's status page answers "error" in the app's iframe; silent check-sso without the fallback stays unauthenticated, with no redirect`, async () => {
        const sid = await logInElsewhere({ typed: false })
        // Asked from the app's page, the realm's own status page cannot read KEYCLOAK_SESSION.
        assert.equal(await statusAnswer(sid), 'error')
        assert.equal(await probe(), 'unsupported')

        const mark = await openApp({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silentUri(), silentCheckSsoFallback: false })
        // The silent iframe's request reaches the realm without the session cookie: login_required.
        const seen = await requestsSince(mark, silentAuth())
        assert.ok(seen.some((l) => silentAuth().test(l)), `the silent iframe asked the realm: ${seen.join('\n')}`)
        assert.ok(!seen.some((l) => redirectBack().test(l)), 'no top-level redirect')
        assert.ok(!seen.some((l) => tokenPost.test(l)), 'no code was exchanged')
        assert.equal((await state()).authenticated, false)
        assert.equal(await b.text('init-result'), 'resolved')
      })

      test('silent check-sso with that session: the probe notices, the silentCheckSsoFallback redirect logs in', async () => {
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
        assert.ok(!seen.some((l) => l.includes('login-status-iframe.html/init')), 'the status iframe is not used')
      })

      test('check-sso by redirect with that session: authenticated after a prompt=none round trip', async () => {
        const mark = await openApp({ onLoad: 'check-sso', checkLoginIframe: false })
        await b.waitText('status', /^authenticated$/)
        assert.equal((await state()).username, 'alice')
        const seen = await requestsSince(mark, tokenPost)
        assert.ok(seen.some((l) => redirectBack().test(l)), seen.join('\n'))
        assert.ok(!seen.some((l) => l.includes('3p-cookies')), 'no probe with the status iframe off and no silent check')
      })

      const grants = engine === 'firefox'
      test(grants
        ? `a login typed on another site (${OTHER_SITE}): Firefox gives the realm's iframes storage access (user interaction with the realm), so the status page answers "unchanged", the probe "supported", and silent check-sso logs in with no redirect`
        : `a login typed on another site (${OTHER_SITE}): the cookies stay blocked, the status page answers "error", the probe "unsupported", silent check-sso without the fallback stays unauthenticated`, async () => {
        const sid = await logInElsewhere({ typed: true })
        assert.equal(await statusAnswer(sid), grants ? 'unchanged' : 'error')
        assert.equal(await probe(), grants ? 'supported' : 'unsupported')
        const mark = await openApp({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silentUri(), silentCheckSsoFallback: false })
        const seen = await requestsSince(mark, grants ? tokenPost : silentAuth())
        assert.ok(seen.some((l) => silentAuth().test(l)), `the silent iframe asked the realm: ${seen.join('\n')}`)
        assert.ok(!seen.some((l) => redirectBack().test(l)), 'no top-level redirect')
        assert.equal((await state()).authenticated, grants)
        if (grants) {
          assert.equal((await state()).username, 'alice')
          // The probe passed, so the status iframe is used: its page checks the client.
          await requestsSince(mark, /login-status-iframe\.html\/init/)
          assert.ok(stack.realmRequests().slice(mark).some((l) => l.includes('login-status-iframe.html/init')), 'the status iframe checks the client')
        }
      })

      test('login-required: the realm\'s login page, then back authenticated with tokens', async () => {
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

      test('updateToken(-1): a refresh at the token endpoint, new tokens', async () => {
        const before = await state()
        const mark = stack.realmRequests().length
        await b.click('refresh')
        await b.waitText('refresh-result', /^(true|false|error.*)$/)
        assert.equal(await b.text('refresh-result'), 'true')
        const after = await state()
        assert.equal(after.authenticated, true)
        assert.notEqual(after.token, before.token)
        assert.ok((await requestsSince(mark, tokenPost)).some((l) => tokenPost.test(l)))
      })

      test('loadUserInfo: the userinfo endpoint answers for alice', async () => {
        const mark = stack.realmRequests().length
        const info = await b.evaluate(() => window.keycloak.loadUserInfo())
        assert.equal(info.preferred_username, 'alice')
        assert.equal(await b.driver.executeScript('return window.keycloak.userInfo?.preferred_username'), 'alice')
        assert.ok((await requestsSince(mark, /userinfo -> 200$/)).some((l) => new RegExp(`^GET ${OIDC}/userinfo -> 200$`).test(l)))
      })

      test(grants
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
        await b.driver.close()
        await b.driver.switchTo().window(app)
        const events = () => b.driver.executeScript('return [...document.querySelectorAll("#events li")].map((li) => li.textContent.split(" ")[1])')
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
      })

      test('logout: the realm ends the session, the app is back unauthenticated', async () => {
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
    })
  }
}

function reEscape (s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
