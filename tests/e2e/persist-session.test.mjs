// persistSession (ours; keycloak-js has no such option and ignores it): after a login, a
// reload is authenticated with no request to the realm before onReady; an access token
// that ran out costs one refresh; a logout in another tab leaves nothing to restore; the
// kept entry copied into another browser profile is worthless; 'session' keeps it for the
// tab only. keycloak-js, with the same options, is not authenticated after a reload (it
// would need check-sso's round trip through the realm: a deliberate difference).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { logInThroughApp, openApp, settled, TOKEN_ENDPOINT } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })

/** Requests to the realm from now on. */
function realmRequests (page) {
  const seen = []
  page.on('request', (r) => { if (r.url().startsWith(stack.realmUrl)) seen.push(r.url()) })
  return seen
}

async function loggedIn (impl, options, config) {
  const page = await newPage(browser)
  await openApp(page, stack, impl, { checkLoginIframe: false, ...options }, config)
  assert.equal(await settled(page), 'not authenticated')
  await logInThroughApp(page)
  // The tokens are kept after their encryption, which is asynchronous: a reload at once
  // could come first (the README says so). keycloak-js keeps nothing to wait for.
  if (impl === 'keycloak-wasm' && options.persistSession) {
    await page.waitForFunction((where) => Object.keys(where === 'local' ? localStorage : sessionStorage).some((k) => k.startsWith('keycloak-wasm ')), options.persistSession)
  }
  return page
}

const kept = (page) => page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('keycloak-wasm ')))

for (const impl of IMPLS) {
  describe(impl, () => {
    if (impl === 'keycloak-js') {
      test('keycloak-js has no persistSession: a reload is not authenticated without check-sso (deliberate difference)', async () => {
        const page = await loggedIn(impl, { persistSession: 'local' })
        await page.reload()
        assert.equal(await settled(page), 'not authenticated')
        await page.context().close()
      })
      return
    }

    test('persistSession local: a reload is authenticated with no request to the realm; the kept entry is encrypted', async () => {
      const page = await loggedIn(impl, { persistSession: 'local' })
      const token = await page.evaluate(() => window.keycloak.refreshToken)
      const entries = await kept(page)
      assert.equal(entries.length, 1)
      assert.ok(!entries[0][1].includes(token.split('.')[1]), 'no token in clear in the storage')
      const requests = realmRequests(page)
      await page.reload()
      assert.equal(await settled(page), 'authenticated')
      assert.deepEqual(requests, [], 'nothing sent to the realm before onReady')
      assert.equal(await page.evaluate(() => window.keycloak.refreshToken), token)
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('persistSession: an access token that ran out costs exactly one refresh on reload', async () => {
      const page = await loggedIn(impl, { persistSession: 'local' }, { clientId: 'short-app' })
      await page.waitForTimeout(3500)
      const requests = realmRequests(page)
      await page.reload()
      assert.equal(await settled(page), 'authenticated')
      assert.equal(requests.length, 1, requests.join('\n'))
      assert.match(requests[0], TOKEN_ENDPOINT)
      assert.equal(await page.evaluate(() => window.keycloak.isTokenExpired()), false)
      await page.context().close()
    })

    test('persistSession: after a logout in another tab, a reload is not authenticated', async () => {
      const page = await loggedIn(impl, { persistSession: 'local' })
      const other = await page.context().newPage()
      await openApp(other, stack, impl, { checkLoginIframe: false, persistSession: 'local' })
      assert.equal(await settled(other), 'authenticated', 'the other tab restored the session too')
      await other.evaluate(() => { window.keycloak.logout() })
      // Wiped before the tab leaves for the realm's logout.
      await page.waitForFunction(() => !Object.keys(localStorage).some((k) => k.startsWith('keycloak-wasm ')), null, { timeout: 5000 })
      await page.reload()
      assert.equal(await settled(page), 'not authenticated')
      await page.context().close()
    })

    test('persistSession: the entry copied into another browser profile is worthless, and is wiped there', async () => {
      const page = await loggedIn(impl, { persistSession: 'local' })
      const entries = await kept(page)
      const thief = await newPage(browser)
      await thief.goto(new URL('/app.css', stack.appUrl(impl)).href)
      await thief.evaluate((entries) => { for (const [k, v] of entries) localStorage.setItem(k, v) }, entries)
      await openApp(thief, stack, impl, { checkLoginIframe: false, persistSession: 'local' })
      assert.equal(await settled(thief), 'not authenticated')
      assert.deepEqual(await kept(thief), [])
      await Promise.all([page.context().close(), thief.context().close()])
    })

    test("persistSession 'session': a reload restores, a new tab does not", async () => {
      const page = await loggedIn(impl, { persistSession: 'session' })
      const requests = realmRequests(page)
      await page.reload()
      assert.equal(await settled(page), 'authenticated')
      assert.deepEqual(requests, [])
      const other = await page.context().newPage()
      await openApp(other, stack, impl, { checkLoginIframe: false, persistSession: 'session' })
      assert.equal(await settled(other), 'not authenticated')
      await page.context().close()
    })
  })
}
