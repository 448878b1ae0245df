// The package's two machines (README "Bytes"): keycloak-wasm's entry carries the machine
// without our additions; an init option of ours loads the additions' chunk
// (keycloak.extras.js) once per page and the instance starts on it; keycloak-wasm/full
// has them inlined and loads no chunk. keycloak-js has neither (nothing to compare).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { logInThroughApp, openApp, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })

/** What the page requests from now on: the additions' chunk, and the realm's keys. */
function watch (page) {
  const seen = { chunk: 0, keys: 0 }
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/keycloak.extras.js')) seen.chunk++
    if (r.url().startsWith(stack.realmUrl) && r.url().endsWith('/protocol/openid-connect/certs')) seen.keys++
  })
  return seen
}

test('no addition asked for: no chunk is loaded, through a login and back', async () => {
  const page = await newPage(browser)
  const seen = watch(page)
  await openApp(page, stack, 'keycloak-wasm', { checkLoginIframe: false })
  assert.equal(await settled(page), 'not authenticated')
  await logInThroughApp(page)
  assert.deepEqual(seen, { chunk: 0, keys: 0 })
  // The machine without the additions answers for them with a clear error.
  const refused = await page.evaluate(() => window.keycloak.createDpopProof('GET', 'https://api.example/').then(() => 'resolved', (e) => e.message))
  assert.match(refused, /^keycloak-wasm: this instance runs without its additions/)
  assert.deepEqual(page.errors, [])
  await page.context().close()
})

test('an addition asked for (verifyTokens): the chunk is loaded once per page, and it does the work', async () => {
  const page = await newPage(browser)
  const seen = watch(page)
  await openApp(page, stack, 'keycloak-wasm', { checkLoginIframe: false, verifyTokens: true })
  assert.equal(await settled(page), 'not authenticated')
  assert.equal(seen.chunk, 1)
  await logInThroughApp(page)
  assert.equal(seen.chunk, 2, 'once more for the page the login returned to')
  assert.equal(seen.keys, 1, "the realm's keys were fetched to verify the tokens")
  assert.deepEqual(page.errors, [])
  await page.context().close()
})

test('the additions\' chunk that does not arrive: init rejects after requestTimeout with a clear error; the next page load works', async () => {
  const page = await newPage(browser)
  // Held: the request for the chunk is never answered.
  await page.route('**/keycloak.extras.js', () => {})
  const t0 = Date.now()
  await openApp(page, stack, 'keycloak-wasm', { checkLoginIframe: false, verifyTokens: true, requestTimeout: 1500 })
  await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
  assert.ok(Date.now() - t0 >= 1500, 'not before the bound')
  assert.equal(await page.locator('#init-result').textContent(), 'rejected')
  assert.equal(await page.locator('#error').textContent(), 'keycloak-wasm: the module with the additions (keycloak.extras.js) did not load within requestTimeout.')
  await page.unroute('**/keycloak.extras.js')
  await page.reload()
  assert.equal(await settled(page), 'not authenticated')
  assert.deepEqual(page.errors, [])
  await page.context().close()
})

test('keycloak-wasm/full: the additions with no chunk (persistSession restores the session on reload)', async () => {
  const page = await newPage(browser)
  const seen = watch(page)
  await openApp(page, stack, 'keycloak-wasm/full', { checkLoginIframe: false, persistSession: 'local' })
  assert.equal(await settled(page), 'not authenticated')
  await logInThroughApp(page)
  await page.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith('keycloak-wasm ')))
  await page.reload()
  assert.equal(await settled(page), 'authenticated')
  assert.equal(seen.chunk, 0)
  assert.deepEqual(page.errors, [])
  await page.context().close()
})

test('keycloak-wasm/full opens the IndexedDB database early only if it exists: a page that keeps nothing has none', async () => {
  const page = await newPage(browser)
  await openApp(page, stack, 'keycloak-wasm/full', { checkLoginIframe: false })
  assert.equal(await settled(page), 'not authenticated')
  const names = () => page.evaluate(() => indexedDB.databases().then((list) => list.map((d) => d.name)))
  assert.deepEqual(await names(), [], 'the early open was rolled back')
  // The first addition that keeps something creates it (persistSession's key).
  await page.evaluate(() => { sessionStorage.setItem('demo.init', JSON.stringify({ checkLoginIframe: false, persistSession: 'local' })) })
  await page.reload()
  assert.equal(await settled(page), 'not authenticated')
  await logInThroughApp(page)
  await page.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith('keycloak-wasm ')))
  assert.deepEqual(await names(), ['keycloak-wasm'])
  assert.deepEqual(page.errors, [])
  await page.context().close()
})
