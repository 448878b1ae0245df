// syncTabs (ours; keycloak-js has no such option and ignores it): three pages of one
// browser context share one refresh-token chain (the later two start from the first one's
// tokens, as apps that keep tokens in localStorage do) against a realm with refresh-token
// rotation and no reuse (`revokeRefreshToken`, `refreshTokenMaxReuse: 0`). Every round,
// all three call updateToken(-1) at once.
//   - keycloak-wasm with syncTabs: exactly one refresh per round reaches the realm, no
//     session is lost in 50 rounds, and a logout in one page ends the session in the others;
//   - keycloak-wasm without it, and keycloak-js: the realm sees the chain's token reused,
//     detaches the client session, and the pages lose their sessions (the test reports
//     how many; deliberate difference: the option is ours).
// The realm answers token requests 150 ms late, so that the three calls of a round are
// certainly under way together (what "at once" means here, on a loaded CI machine too).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { apiRealm, logInThroughApp, openApp, settled, TOKEN_ENDPOINT } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const realmFor = (appOrigin, extra) => ({ ...apiRealm(appOrigin, extra), revokeRefreshToken: true, refreshTokenMaxReuse: 0 })
const { stack, browser } = useStack({ api: true, realmFor })

const faults = (body) => fetch(`http://127.0.0.1:${stack.realmPort}/__faults`, { method: 'PUT', body: JSON.stringify(body) })

/** Three pages of one context on one chain; refresh requests counted over all three. */
async function threePages (impl, sync) {
  const context = await browser.newContext()
  const options = { checkLoginIframe: false, ...(sync && { syncTabs: true }) }
  const first = await context.newPage()
  await openApp(first, stack, impl, options)
  assert.equal(await settled(first), 'not authenticated')
  await logInThroughApp(first)
  const tokens = await first.evaluate(() => ({ token: window.keycloak.token, refreshToken: window.keycloak.refreshToken, idToken: window.keycloak.idToken }))
  const pages = [first]
  for (let i = 0; i < 2; i++) {
    const page = await context.newPage()
    await openApp(page, stack, impl, { ...options, ...tokens })
    // init with tokens refreshes them at once (keycloak-js does): with syncTabs the page's
    // siblings take the new tokens, or it takes theirs; without, the chain breaks here already.
    const status = await settled(page)
    if (sync) assert.equal(status, 'authenticated')
    pages.push(page)
  }
  const refreshes = []
  for (const page of pages) {
    page.on('request', (r) => {
      if (TOKEN_ENDPOINT.test(r.url()) && r.postData()?.includes('grant_type=refresh_token')) refreshes.push(r)
    })
  }
  return { context, pages, refreshes }
}

/** One round: updateToken(-1) in every page at once; what each one settled with. */
function round (pages) {
  const at = Date.now() + 100
  return Promise.all(pages.map((page) => page.evaluate((at) => new Promise((resolve) => {
    setTimeout(() => window.keycloak.updateToken(-1).then((v) => resolve({ value: v }), (e) => resolve({ error: String(e?.message ?? e) })), at - Date.now())
  }), at)))
}

const alive = (pages) => Promise.all(pages.map((p) => p.evaluate(() => window.keycloak.authenticated === true)))

for (const impl of IMPLS) {
  describe(impl, () => {
    if (impl === 'keycloak-wasm') {
      test('syncTabs: 50 rounds of updateToken(-1) in three pages, one refresh per round, no session lost; a logout in one page ends all', async () => {
        const { context, pages, refreshes } = await threePages(impl, true)
        const heard = () => Promise.all(pages.map(async (p) => ((await p.locator('#events').textContent()).match(/onAuthRefreshSuccess/g) ?? []).length))
        const heardBefore = await heard()
        await faults({ faults: { token: 'slow:150' } })
        try {
          for (let r = 0; r < 50; r++) {
            const before = refreshes.length
            const results = await round(pages)
            assert.deepEqual(results, [{ value: true }, { value: true }, { value: true }], `round ${r}`)
            assert.equal(refreshes.length - before, 1, `round ${r}: one refresh reached the realm`)
          }
        } finally {
          await faults({})
        }
        assert.deepEqual(await alive(pages), [true, true, true])
        const tokens = await Promise.all(pages.map((p) => p.evaluate(() => window.keycloak.refreshToken)))
        assert.ok(tokens.every((t) => t === tokens[0]), 'one set of tokens in all pages')
        // Each page heard of every refresh once, its own or a sibling's.
        assert.deepEqual((await heard()).map((n, i) => n - heardBefore[i]), [50, 50, 50])
        // A logout in the second page: the others end the session at once (onAuthLogout).
        await pages[1].evaluate(() => { window.keycloak.logout() })
        for (const page of [pages[0], pages[2]]) {
          await page.locator('#events', { hasText: 'onAuthLogout' }).waitFor({ timeout: 5000 })
          assert.equal(await page.evaluate(() => window.keycloak.authenticated), false)
        }
        await context.close()
      })
    }

    test(impl === 'keycloak-wasm'
      ? 'without syncTabs, pages on one chain lose their sessions to refresh-token reuse (reported)'
      : 'keycloak-js: pages on one chain lose their sessions to refresh-token reuse (reported; it has no syncTabs)', async (t) => {
      const { context, pages, refreshes } = await threePages(impl, false)
      const lostAtOpen = (await alive(pages)).filter((a) => !a).length
      await faults({ faults: { token: 'slow:150' } })
      let rounds = 0
      try {
        for (; rounds < 10 && (await alive(pages)).some((a) => a); rounds++) await round(pages)
      } finally {
        await faults({})
      }
      const lost = (await alive(pages)).filter((a) => !a).length
      t.diagnostic(`${impl} without syncTabs: ${lostAtOpen} of 3 sessions lost as the pages opened, ${lost} of 3 after ${rounds} round(s); ${refreshes.length} refresh requests in the rounds`)
      assert.equal(lost, 3, 'every session lost')
      assert.ok(rounds <= 1, `${rounds} rounds`)
      await context.close()
    })
  })
}
