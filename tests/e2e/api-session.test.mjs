// Session-level API through the real realm server, for both adapters: register() on the
// registration page, logout by POST, loadUserProfile / loadUserInfo, and methods used
// after destructuring them from the instance (reference §1.6, §7, §9 #15).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { eventNames, fillLogin, logInThroughApp, openApp, recordRequests, settled, text } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })

const NO_TOKEN = 'Unable to build authorization header, token is not set, make sure the user is authenticated.'

for (const impl of IMPLS) {
  const short = impl === 'keycloak-js' ? 'js' : 'wasm'

  describe(impl, () => {
    test('register() opens the registration page and ends authenticated as the new user', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      assert.equal(await settled(page), 'not authenticated')
      await page.evaluate(() => { window.keycloak.register() })
      await page.locator('#kc-register-form').waitFor()
      assert.match(page.url(), new RegExp(`^${stack.realmUrl}/realms/demo/(protocol/openid-connect/registrations|login-actions/)`))
      const username = `carol-${short}`
      await page.fill('#firstName', 'Carol')
      await page.fill('#lastName', `Register ${short}`)
      await page.fill('#email', `${username}@example.com`)
      await page.fill('#username', username)
      await page.fill('#password', 'secret')
      await page.fill('#password-confirm', 'secret')
      await page.click('#kc-register-form input[type="submit"]')
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(await text(page, 'username'), username)
      const claims = await page.evaluate(() => {
        const t = window.keycloak.idTokenParsed
        return { email: t.email, given: t.given_name, family: t.family_name }
      })
      assert.deepEqual(claims, { email: `${username}@example.com`, given: 'Carol', family: `Register ${short}` })
      assert.equal(page.url(), stack.appUrl(impl))
      assert.deepEqual(await eventNames(page), ['onAuthSuccess', 'onReady'])
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test("logoutMethod 'POST' posts id_token_hint, client_id, post_logout_redirect_uri and ends the session", async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl, { checkLoginIframe: false, logoutMethod: 'POST' })
      await settled(page)
      await logInThroughApp(page)
      const idToken = await page.evaluate(() => window.keycloak.idToken)
      assert.ok(idToken)
      const logouts = recordRequests(page, /\/protocol\/openid-connect\/logout/)
      await page.click('#logout')
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor()
      assert.equal(logouts.length >= 1, true)
      assert.equal(logouts[0].method, 'POST')
      assert.equal(logouts[0].url, `${stack.realmUrl}/realms/demo/protocol/openid-connect/logout`)
      assert.match(logouts[0].headers['content-type'], /^application\/x-www-form-urlencoded/)
      const form = new URLSearchParams(logouts[0].postData)
      assert.deepEqual([...form.entries()], [['id_token_hint', idToken], ['client_id', 'demo-app'], ['post_logout_redirect_uri', stack.appUrl(impl)]])
      assert.equal(page.url(), stack.appUrl(impl))
      // The realm session is gone: logging in again shows the form instead of SSO.
      await page.click('#login')
      await page.locator('#kc-form-login').waitFor()
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test("logout({ logoutMethod: 'POST', redirectUri }) overrides the GET default", async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      await settled(page)
      await logInThroughApp(page)
      const logouts = recordRequests(page, /\/protocol\/openid-connect\/logout/)
      const target = `${stack.appUrl(impl)}?logged=out`
      await page.evaluate((redirectUri) => { window.keycloak.logout({ logoutMethod: 'POST', redirectUri }) }, target)
      await page.waitForURL(target)
      await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor()
      assert.equal(logouts[0].method, 'POST')
      assert.equal(new URLSearchParams(logouts[0].postData).get('post_logout_redirect_uri'), target)
      await page.click('#login')
      await page.locator('#kc-form-login').waitFor()
      await page.context().close()
    })

    test('loadUserProfile and loadUserInfo: reject before login, return alice after and set profile / userInfo', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      await settled(page)
      const before = await page.evaluate(async () => {
        const kc = window.keycloak
        const out = {}
        for (const m of ['loadUserProfile', 'loadUserInfo']) {
          try { out[m] = await kc[m]() } catch (e) { out[m] = { name: e?.name, message: e?.message, isError: e instanceof Error } }
        }
        out.profile = kc.profile === undefined ? 'undefined' : kc.profile
        out.userInfo = kc.userInfo === undefined ? 'undefined' : kc.userInfo
        return out
      })
      assert.deepEqual(before, {
        loadUserProfile: { name: 'Error', message: NO_TOKEN, isError: true },
        loadUserInfo: { name: 'Error', message: NO_TOKEN, isError: true },
        profile: 'undefined',
        userInfo: 'undefined'
      })

      await logInThroughApp(page)
      const requests = recordRequests(page, /\/realms\/demo\/(account|protocol\/openid-connect\/userinfo)$/)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        const profile = await kc.loadUserProfile()
        const userInfo = await kc.loadUserInfo()
        return { profile, userInfo, storedProfile: kc.profile, storedUserInfo: kc.userInfo, subject: kc.subject, token: kc.token }
      })
      assert.deepEqual(r.storedProfile, r.profile)
      assert.deepEqual(r.storedUserInfo, r.userInfo)
      const { userProfileMetadata, ...profile } = r.profile
      assert.deepEqual(profile, { id: r.subject, username: 'alice', firstName: 'Alice', lastName: 'Liddell', email: 'alice@example.com', emailVerified: true })
      assert.ok(userProfileMetadata?.attributes, 'the account endpoint answered in full')
      assert.equal(r.userInfo.sub, r.subject)
      assert.equal(r.userInfo.preferred_username, 'alice')
      assert.equal(r.userInfo.email, 'alice@example.com')
      assert.equal(r.userInfo.name, 'Alice Liddell')
      assert.deepEqual(requests.map((q) => [q.method, new URL(q.url).pathname]), [
        ['GET', '/realms/demo/account'],
        ['GET', '/realms/demo/protocol/openid-connect/userinfo']
      ])
      for (const q of requests) {
        assert.equal(q.headers.authorization, `bearer ${r.token}`)
        assert.equal(q.headers.accept, 'application/json')
      }
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('methods destructured from the instance still work', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      await settled(page)
      await page.evaluate(() => {
        const { login } = window.keycloak
        login()
      })
      await fillLogin(page)
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      const r = await page.evaluate(async () => {
        const { updateToken, hasRealmRole, hasResourceRole, isTokenExpired, createLoginUrl, createLogoutUrl, createAccountUrl, loadUserInfo, loadUserProfile } = window.keycloak
        return {
          user: hasRealmRole('user'),
          admin: hasRealmRole('admin'),
          viewer: hasResourceRole('viewer'),
          viewerOfAccount: hasResourceRole('viewer', 'account'),
          expired: isTokenExpired(),
          updated: await updateToken(-1),
          notNeeded: await updateToken(5),
          loginUrl: (await createLoginUrl()).split('?')[0],
          logoutHasHint: createLogoutUrl().includes('&id_token_hint='),
          accountUrl: createAccountUrl().split('?')[0],
          userInfo: (await loadUserInfo()).preferred_username,
          profile: (await loadUserProfile()).username
        }
      })
      const realm = `${stack.realmUrl}/realms/demo`
      assert.deepEqual(r, {
        user: true,
        admin: false,
        viewer: true,
        viewerOfAccount: false,
        expired: false,
        updated: true,
        notNeeded: false,
        loginUrl: `${realm}/protocol/openid-connect/auth`,
        logoutHasHint: true,
        accountUrl: `${realm}/account`,
        userInfo: 'alice',
        profile: 'alice'
      })
      assert.match((await eventNames(page)).join(' '), /onAuthRefreshSuccess/)
      // Role checks read the public properties, so an app's own additions count.
      assert.deepEqual(await page.evaluate(() => {
        const kc = window.keycloak
        kc.realmAccess.roles.push('granted-by-app')
        kc.resourceAccess.extra = { roles: ['x'] }
        return [kc.hasRealmRole('granted-by-app'), kc.hasResourceRole('x', 'extra'), kc.hasResourceRole('x')]
      }), [true, true, false])
      await page.evaluate(() => {
        const { logout } = window.keycloak
        logout()
      })
      await page.waitForURL(stack.appUrl(impl))
      await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor()
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })
  })
}
