// Forged input, end to end: messages shaped like the status iframe's from a foreign
// origin or from another window of the realm's origin, an ID token without the nonce the
// login asked for, megabyte-sized callbacks and tokens, script URLs as redirect URIs.
// Each is rejected with a clear error or ignored, with nothing lost. (Other forgeries
// have their own files: unknown and replayed state in api-callback-url, another issuer in
// security, another nonce in api-more.) Both packages run every scenario.
import { beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { fillLogin, logInThroughApp, openApp, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack()

const tokensOf = (page) => page.evaluate(() => ({ authenticated: window.keycloak.authenticated, token: window.keycloak.token, refreshToken: window.keycloak.refreshToken }))
const MB = 1 << 20

for (const impl of IMPLS) {
  describe(impl, () => {
    test('an ID token without the nonce the login asked for: init rejects, no tokens kept', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      await settled(page)
      const loginUrl = new URL(await page.evaluate(() => window.keycloak.createLoginUrl()))
      assert.ok(loginUrl.searchParams.get('nonce'), 'the login asks for a nonce')
      // The authorization request loses its nonce on the way: the realm issues an ID token
      // without one, while the adapter stored the nonce it sent.
      loginUrl.searchParams.delete('nonce')
      await page.goto(loginUrl.href)
      await fillLogin(page)
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
      assert.equal(await page.locator('#init-result').textContent(), 'rejected')
      assert.equal(await page.locator('#status').textContent(), 'not authenticated')
      assert.equal(await page.evaluate(() => window.keycloak.idToken), undefined)
      await page.context().close()
    })

    test('a megabyte callback fragment with an unknown state: init settles, nothing breaks, a login still works', async () => {
      const page = await newPage(browser)
      const pageErrors = []
      page.on('pageerror', (e) => pageErrors.push(e.message))
      await openApp(page, stack, impl)
      await settled(page)
      await page.goto('about:blank')
      await page.goto(`${stack.appUrl(impl)}#state=${'s'.repeat(64)}&code=${'A'.repeat(MB)}&session_state=x`)
      await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
      assert.equal(await page.locator('#status').textContent(), 'not authenticated')
      assert.doesNotMatch(page.url(), /code=/, 'the forged callback is stripped from the URL')
      await logInThroughApp(page)
      assert.deepEqual(pageErrors, [])
      await page.context().close()
    })

    test('a megabyte token passed to init: a clear rejection or an ignored token, never a crash or a hang', async () => {
      const page = await newPage(browser)
      const pageErrors = []
      page.on('pageerror', (e) => pageErrors.push(e.message))
      const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
      const now = Math.floor(Date.now() / 1000)
      const huge = `${b64({ alg: 'none' })}.${b64({ sub: 'u', iat: now, exp: now + 300, pad: 'x'.repeat(MB) })}.sig`
      const refresh = `${b64({ alg: 'none' })}.${b64({ typ: 'Refresh', iat: now, exp: now + 1800, pad: 'y'.repeat(MB) })}.sig`
      await openApp(page, stack, impl, { checkLoginIframe: false, token: huge, refreshToken: refresh })
      await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
      const state = await page.evaluate(() => ({ result: document.querySelector('#init-result').textContent, error: document.querySelector('#error').textContent, tokenKept: window.keycloak.token !== undefined }))
      // Both adapters take the tokens as any passed to init (they are the app's own input)
      // and refresh them at once; the realm refuses the forged refresh token (HTTP 400),
      // so the tokens are dropped and init rejects with keycloak-js's NetworkError.
      assert.deepEqual(state, { result: 'rejected', error: 'Server responded with an invalid status.', tokenKept: false })
      assert.deepEqual(pageErrors, [])
      await page.context().close()
    })

    for (const redirectUri of ['javascript:alert(document.domain)', 'data:text/html,<script>alert(1)</script>']) {
      test(`login and logout with redirectUri ${redirectUri.slice(0, 11)}…: no script runs, the realm refuses it, the app's session is unchanged`, async () => {
        const page = await newPage(browser)
        const dialogs = []
        page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}) })
        await openApp(page, stack, impl)
        await settled(page)
        await page.evaluate((uri) => { window.keycloak.login({ redirectUri: uri }).catch(() => {}) }, redirectUri)
        await page.waitForURL((u) => u.hostname === 'idp.localhost')
        assert.match(await page.locator('body').textContent(), /Invalid parameter: redirect_uri/)
        await page.goto(stack.appUrl(impl))
        await settled(page)
        await logInThroughApp(page)
        const before = await tokensOf(page)
        await page.evaluate((uri) => { window.keycloak.logout({ redirectUri: uri }).catch(() => {}) }, redirectUri)
        await page.waitForURL((u) => u.hostname === 'idp.localhost')
        assert.match(await page.locator('body').textContent(), /Invalid (parameter: )?redirect/i)
        assert.deepEqual(dialogs, [], 'no script ran')
        assert.ok(before.authenticated)
        await page.context().close()
      })
    }
  })
}

// The status iframe needs the realm's cookies in a frame: a profile that allows them.
describe('third-party cookies allowed', () => {
  const tp = useStack({ browser: false, profile: { thirdPartyCookies: true } })
  beforeEach(() => tp.context.clearCookies())
  for (const impl of IMPLS) {
    test(`${impl}: messages shaped like the status iframe's "changed", from a foreign origin and from another window of the realm's origin, are ignored; the real frame's "changed" is not`, async () => {
      const page = await tp.context.newPage()
      const pageErrors = []
      page.on('pageerror', (e) => pageErrors.push(e.message))
      await openApp(page, tp.stack, impl, { onLoad: 'check-sso', checkLoginIframe: true, checkLoginIframeInterval: 1 })
      await settled(page)
      await logInThroughApp(page)
      const before = await tokensOf(page)
      // Another frame of the realm's origin (a second copy of the status page itself).
      await page.evaluate((src) => new Promise((resolve) => {
        const f = document.createElement('iframe')
        f.name = 'impostor'
        f.src = src
        f.onload = resolve
        document.body.append(f)
      }), `${tp.stack.realmUrl}/realms/demo/protocol/openid-connect/login-status-iframe.html`)
      const impostor = page.frame({ name: 'impostor' })
      const appOrigin = new URL(tp.stack.appUrl(impl)).origin
      // Spray both kinds for 3.5 s, across several of the adapter's 1 s checks, so some
      // land while a check waits for its answer.
      await Promise.all([
        page.evaluate(() => new Promise((resolve) => {
          const t = setInterval(() => window.postMessage('changed', '*'), 5)
          setTimeout(() => { clearInterval(t); resolve() }, 3500)
        })),
        impostor.evaluate((origin) => new Promise((resolve) => {
          const t = setInterval(() => parent.postMessage('changed', origin), 5)
          setTimeout(() => { clearInterval(t); resolve() }, 3500)
        }), appOrigin)
      ])
      assert.deepEqual(await tokensOf(page), before, 'tokens kept')
      assert.doesNotMatch(await page.locator('#events').textContent(), /onAuthLogout/)
      // The control: a logout in another tab changes the session cookie; the adapter's
      // own frame answers "changed" at its next check, and that one counts.
      const other = await tp.context.newPage()
      await other.goto(`${tp.stack.realmUrl}/realms/demo/protocol/openid-connect/logout`)
      await other.locator('#kc-logout').click()
      await page.locator('#events', { hasText: 'onAuthLogout' }).waitFor({ timeout: 6000 })
      assert.equal(await page.evaluate(() => window.keycloak.token), undefined)
      assert.deepEqual(pageErrors, [])
      await Promise.all([page.close(), other.close()])
    })
  }
})
