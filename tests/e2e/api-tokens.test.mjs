// Token lifetime API through the real realm server, for both adapters (reference §1.8,
// §1.10, §2.10, §2.12): onTokenExpired with 3-second access tokens, updateToken's
// decisions and its shared in-flight refresh, a refresh answered with HTTP 400 after
// the realm session ended, and the [KEYCLOAK] log lines of enableLogging.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { TOKEN_ENDPOINT, eventNames, events, logInThroughApp, openApp, recordKeycloakLog, recordRequests, settled, text, until } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })

const ms = (hhmmss) => { const [h, m, s] = hhmmss.split(':'); return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 }

/** A logged-in demo app (alice), iframe off, plus extra init options / config. */
async function loggedIn (impl, init = {}, config) {
  const page = await newPage(browser)
  await openApp(page, stack, impl, { checkLoginIframe: false, ...init }, config)
  await settled(page)
  await logInThroughApp(page)
  return page
}

/** Ends alice's realm session from another tab (GET logout with the ID token hint). */
async function endRealmSession (page) {
  const logoutUrl = await page.evaluate(() => window.keycloak.createLogoutUrl())
  assert.match(logoutUrl, /&id_token_hint=/)
  const other = await page.context().newPage()
  await other.goto(logoutUrl)
  await other.locator('#status', { hasText: /authenticated/ }).waitFor()
  await other.close()
}

for (const impl of IMPLS) {
  describe(impl, () => {
    test('onTokenExpired fires when a 3 s token expires; updateToken(5) then refreshes and the timer restarts', async () => {
      const page = await loggedIn(impl, {}, { clientId: 'short-app' })
      const expiresIn = Number(await text(page, 'token-expires'))
      assert.ok(expiresIn >= 1 && expiresIn <= 4, `token expires in ${expiresIn} s`)
      await page.locator('#events li', { hasText: 'onTokenExpired' }).first().waitFor({ timeout: 10000 })
      const evs = await events(page)
      const success = evs.find((e) => e.name === 'onAuthSuccess')
      const expired = evs.find((e) => e.name === 'onTokenExpired')
      const delay = ms(expired.time) - ms(success.time)
      assert.ok(delay >= 1000 && delay <= 6000, `onTokenExpired ${delay} ms after onAuthSuccess`)
      assert.equal(expired.args, undefined, 'called without arguments')

      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      const r = await page.evaluate(async () => {
        const before = window.keycloak.token
        const refreshed = await window.keycloak.updateToken(5)
        return { refreshed, changed: window.keycloak.token !== before }
      })
      assert.equal(r.refreshed, true)
      assert.equal(r.changed, true)
      assert.equal(tokenRequests.length, 1)
      assert.equal(new URLSearchParams(tokenRequests[0].postData).get('grant_type'), 'refresh_token')
      // The refreshed token gets its own timer.
      await page.locator('#events li', { hasText: 'onTokenExpired' }).nth(1).waitFor({ timeout: 10000 })
      const names = await eventNames(page)
      assert.deepEqual(names.slice(0, 3), ['onAuthSuccess', 'onReady', 'onTokenExpired'])
      assert.ok(names.indexOf('onAuthRefreshSuccess') < names.lastIndexOf('onTokenExpired'), names.join(' '))
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('updateToken with a token still valid resolves false without a request; a larger minValidity refreshes', async () => {
      const page = await loggedIn(impl)
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        return { five: await kc.updateToken(5), none: await kc.updateToken(), zero: await kc.updateToken(0), twoHundred: await kc.updateToken(200) }
      })
      assert.deepEqual(r, { five: false, none: false, zero: false, twoHundred: false })
      assert.equal(tokenRequests.length, 0)
      assert.equal(await page.evaluate(() => window.keycloak.updateToken(400)), true, 'the 300 s token expires within 400 s')
      assert.equal(tokenRequests.length, 1)
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('concurrent updateToken(-1) calls share ONE token request', async () => {
      const page = await loggedIn(impl)
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        const results = await Promise.all([kc.updateToken(-1), kc.updateToken(-1), kc.updateToken(-1), kc.updateToken(-1)])
        return { results, stillValid: await kc.updateToken(5) }
      })
      assert.deepEqual(r, { results: [true, true, true, true], stillValid: false })
      assert.equal(tokenRequests.length, 1)
      assert.equal((await eventNames(page)).filter((n) => n === 'onAuthRefreshSuccess').length, 1)
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('a refresh answered with HTTP 400 clears the tokens, fires onAuthLogout and onAuthRefreshError, rejects with NetworkError', async () => {
      const page = await loggedIn(impl, { enableLogging: true })
      const log = recordKeycloakLog(page)
      await endRealmSession(page)
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      const before = (await events(page)).length
      const r = await page.evaluate(async () => {
        const { NetworkError } = await import('keycloak-wasm') // the page's import map: this adapter
        const kc = window.keycloak
        const settle = (p) => p.then((value) => ({ value }), (e) => ({
          message: e?.message,
          isError: e instanceof Error,
          isNetworkError: e instanceof NetworkError,
          status: e?.response?.status
        }))
        // Two callers share the failing request and both see the same error.
        const [a, b] = await Promise.all([settle(kc.updateToken(-1)), settle(kc.updateToken(-1))])
        return {
          a,
          b,
          token: kc.token === undefined,
          refreshToken: kc.refreshToken === undefined,
          idToken: kc.idToken === undefined,
          tokenParsed: kc.tokenParsed === undefined,
          authenticated: kc.authenticated,
          after: await settle(kc.updateToken(-1))
        }
      })
      const rejected = { message: 'Server responded with an invalid status.', isError: true, isNetworkError: true, status: 400 }
      assert.deepEqual(r, {
        a: rejected,
        b: rejected,
        token: true,
        refreshToken: true,
        idToken: true,
        tokenParsed: true,
        authenticated: false,
        after: { message: 'Unable to update token, no refresh token available.', isError: true, isNetworkError: false, status: undefined }
      })
      assert.equal(tokenRequests.length, 1)
      assert.deepEqual((await eventNames(page)).slice(before), ['onAuthLogout', 'onAuthRefreshError'])
      await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor()
      await until(() => log.some((l) => l.text === '[KEYCLOAK] Failed to refresh token'), 3000)
      assert.deepEqual(log.filter((l) => l.type === 'warning'), [{ type: 'warning', text: '[KEYCLOAK] Failed to refresh token' }])
      await page.context().close()
    })

    test('enableLogging prints the [KEYCLOAK] lines of a refresh; without it nothing', async () => {
      const page = await loggedIn(impl, { enableLogging: true })
      const log = recordKeycloakLog(page)
      assert.equal(await page.evaluate(() => window.keycloak.updateToken(-1)), true)
      await until(() => log.length >= 4, 3000)
      const expected = [
        ['info', /^\[KEYCLOAK\] Refreshing token: forced refresh$/],
        ['info', /^\[KEYCLOAK\] Token refreshed$/],
        ['info', /^\[KEYCLOAK\] Estimated time difference between browser and server is -?\d+ seconds$/],
        ['info', /^\[KEYCLOAK\] Token expires in (29\d|300) s$/]
      ]
      const check = (lines) => {
        assert.equal(lines.length, expected.length, JSON.stringify(lines))
        lines.forEach((l, i) => {
          assert.equal(l.type, expected[i][0], l.text)
          assert.match(l.text, expected[i][1])
        })
      }
      check(log.splice(0))
      // A refresh because the token expires within minValidity.
      assert.equal(await page.evaluate(() => window.keycloak.updateToken(400)), true)
      await until(() => log.length >= 4, 3000)
      expected[0][1] = /^\[KEYCLOAK\] Refreshing token: token expired$/
      check(log.splice(0))
      // No refresh needed: no line at all.
      assert.equal(await page.evaluate(() => window.keycloak.updateToken(5)), false)
      await page.waitForTimeout(300)
      assert.deepEqual(log, [])
      await page.context().close()

      const quiet = await loggedIn(impl)
      const quietLog = recordKeycloakLog(quiet)
      assert.equal(await quiet.evaluate(() => window.keycloak.updateToken(-1)), true)
      await quiet.waitForTimeout(300)
      assert.deepEqual(quietLog, [])
      await quiet.context().close()
    })
  })
}
