// autoRefresh (ours; keycloak-js has no such option and ignores it): a client whose
// access tokens live 3 s stays logged in with no app code; a hidden page sends nothing and
// catches up when it shows again; a realm answering 503 for a while is survived, with one
// onAuthRefreshError when the token runs out meanwhile.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { TOKEN_ENDPOINT, logInThroughApp, openApp, recordRequests, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })

const faults = (body) => fetch(`http://127.0.0.1:${stack.realmPort}/__faults`, { method: 'PUT', body: JSON.stringify(body) })

/** Logged in through the client with 3 s access tokens; token requests recorded from then on. */
async function shortLived (impl) {
  const page = await newPage(browser)
  await openApp(page, stack, impl, { checkLoginIframe: false, autoRefresh: true }, { clientId: 'short-app' })
  assert.equal(await settled(page), 'not authenticated')
  await logInThroughApp(page)
  return { page, refreshes: recordRequests(page, TOKEN_ENDPOINT) }
}

const expired = (page) => page.evaluate(() => window.keycloak.isTokenExpired())
const setHidden = (page, hidden) => page.evaluate((h) => {
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => h })
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') })
  document.dispatchEvent(new Event('visibilitychange'))
}, hidden)

for (const impl of IMPLS) {
  describe(impl, () => {
    test(impl === 'keycloak-wasm'
      ? 'autoRefresh: 3 s tokens are refreshed before they expire, for 8 s, with no app code'
      : 'keycloak-js has no autoRefresh: its 3 s token expires and nothing refreshes it (deliberate difference)', async () => {
      const { page, refreshes } = await shortLived(impl)
      await page.waitForTimeout(8000)
      if (impl === 'keycloak-wasm') {
        // Due at half the 3 s lifetime (minValidity 30 s is more than that), less jitter.
        assert.equal(await expired(page), false)
        // Hidden, the page starts no more refreshes; one still in flight gets its answer (and
        // its event) before the count: counting at once raced it (a request seen, its event not yet).
        await setHidden(page, true)
        const sent = refreshes.length
        const successes = () => page.evaluate(() => (document.getElementById('events').textContent.match(/onAuthRefreshSuccess/g) ?? []).length)
        await page.waitForFunction((n) => (document.getElementById('events').textContent.match(/onAuthRefreshSuccess/g) ?? []).length >= n, sent, { timeout: 3000 }).catch(() => {})
        assert.ok(sent >= 3 && sent <= 9, `${sent} refreshes in 8 s`)
        assert.equal(refreshes.length, sent, 'none started while hidden')
        assert.equal(await successes(), sent, 'each one an onAuthRefreshSuccess')
      } else {
        assert.equal(refreshes.length, 0)
        assert.equal(await expired(page), true)
      }
      await page.context().close()
    })

    if (impl === 'keycloak-wasm') {
      test('autoRefresh: a hidden page sends no refresh; shown again, it catches up at once', async () => {
        const { page, refreshes } = await shortLived(impl)
        await setHidden(page, true)
        const hiddenAt = refreshes.length
        await page.waitForTimeout(4000)
        assert.equal(refreshes.length, hiddenAt, 'nothing while hidden')
        assert.equal(await expired(page), true, 'the token ran out meanwhile')
        const shownAt = Date.now()
        await setHidden(page, false)
        // At once: no timer is left to wait for (it fell due while hidden).
        while (refreshes.length === hiddenAt && Date.now() - shownAt < 3000) await page.waitForTimeout(20)
        const after = Date.now() - shownAt
        assert.ok(refreshes.length > hiddenAt && after < 1000, `first refresh ${after} ms after showing`)
        await page.waitForFunction(() => !window.keycloak.isTokenExpired(), null, { timeout: 3000 })
        // Not a burst: the new 3 s token is next refreshed in 0.1-1.5 s (its expiry is counted
        // in whole seconds, less the half-lifetime lead and jitter), so at most one more here.
        assert.ok(refreshes.length - hiddenAt <= 2, `${refreshes.length - hiddenAt} refreshes on showing`)
        await page.context().close()
      })

      test('autoRefresh: a realm answering 503 for 5 s is retried with backoff and survived', async () => {
        const { page, refreshes } = await shortLived(impl)
        await faults({ faults: { token: 'status:503' } })
        try {
          await page.waitForTimeout(5000)
        } finally {
          await faults({})
        }
        const during = refreshes.length
        // Retries at 2, 4, 8 s: at most a handful during the outage, not a storm.
        assert.ok(during >= 2 && during <= 5, `${during} attempts in 5 s`)
        await page.locator('#events', { hasText: 'onAuthRefreshError' }).waitFor()
        // The next retry (within 8 s) succeeds; the page is logged in with a live token.
        await page.waitForFunction(() => !window.keycloak.isTokenExpired(), null, { timeout: 10000 })
        assert.equal(await page.evaluate(() => window.keycloak.authenticated), true)
        // Quiet while the token still worked; once when it ran out (the 3 s token did, during 5 s).
        const errors = (await page.locator('#events').textContent()).match(/onAuthRefreshError/g) ?? []
        assert.equal(errors.length, 1, 'one onAuthRefreshError')
        await page.context().close()
      })
    }
  })
}
