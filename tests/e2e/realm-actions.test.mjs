// Application-initiated actions against the realm server (reference: keycloak-js
// onActionUpdate, callback params kc_action / kc_action_status; Keycloak's
// update-password page). For each package: login({ action: 'UPDATE_PASSWORD' }) on an
// existing session and from a logged-out app, a mismatch that keeps the form, success and
// cancel reported through onActionUpdate(status, action) before onAuthSuccess, an action
// the realm does not run ('error'), and the new password working on the next login. Each
// test gets its own realm through the Admin API (freshRealm), since it changes a password.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { adminClient, freshRealm } from '../support/admin.mjs'
import { ensureRealmBuilt } from '../../scripts/serve/realm.mjs'
import { events, fillLogin, openApp, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

await ensureRealmBuilt() // before the stack starts, so a changed realm server is what runs
let admin
const { stack, browser } = useStack({
  setup ({ stack }) {
    // Node may not resolve *.localhost: the admin API on plain localhost (same server).
    admin = adminClient(stack.realmUrl.replace('//idp.localhost:', '//localhost:'), { username: 'admin', password: 'admin' })
  }
})

const INIT = { checkLoginIframe: false, pkceMethod: 'S256' }

/** A fresh realm for the app, and a page of the app (logged out, init settled) on it. */
async function appOnFreshRealm (impl, cleanup) {
  const realm = await freshRealm(admin, { appOrigin: new URL(stack.appUrl(impl)).origin })
  cleanup.push(() => realm.delete())
  const config = { url: stack.realmUrl, realm: realm.name, clientId: 'demo-app' }
  const open = async () => {
    const page = await newPage(browser)
    cleanup.push(() => page.context().close())
    await openApp(page, stack, impl, INIT, config)
    assert.equal(await settled(page), 'not authenticated')
    return page
  }
  return { realm, open }
}

/** Starts the action from the app (a full-page redirect to the realm). */
async function startAction (page, action) {
  await page.evaluate((a) => { window.keycloak.login({ action: a }) }, action)
}

async function onActionPage (page) {
  await page.locator('#kc-passwd-update-form').waitFor()
  assert.equal(new URL(page.url()).hostname, 'idp.localhost', 'the action runs on the realm')
  assert.equal(await page.locator('#password-new').getAttribute('type'), 'password')
  assert.equal(await page.locator('#password-confirm').getAttribute('type'), 'password')
}

/** Back in the app, authenticated: the onActionUpdate / onAuthSuccess events, in order. */
async function backInApp (page) {
  await page.waitForURL((u) => u.hostname === 'app.localhost')
  await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
  assert.equal(await page.locator('#init-result').textContent(), 'resolved')
  await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
  assert.doesNotMatch(page.url(), /kc_action|code=|state=/, 'callback parameters are cleaned from the URL')
  return (await events(page)).filter((e) => e.name === 'onActionUpdate' || e.name === 'onAuthSuccess').map((e) => [e.name, e.args])
}

/** Logs in through the app's #login button with the realm form; true if it worked. */
async function tryLogIn (page, password) {
  await page.click('#login')
  await fillLogin(page, { username: 'alice', password })
  const outcome = await Promise.race([
    page.waitForURL((u) => u.hostname === 'app.localhost').then(() => 'app'),
    page.locator('#input-error', { hasText: 'Invalid username or password.' }).waitFor().then(() => 'error')
  ])
  if (outcome === 'error') return false
  await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
  return true
}

async function runCleanup (cleanup) {
  for (const f of cleanup.reverse()) await f().catch(() => {})
}

for (const impl of IMPLS) {
  describe(`application-initiated actions [${impl}]`, { timeout: 120000 }, () => {
    test('UPDATE_PASSWORD on a session: a mismatch keeps the form, then ("success", "UPDATE_PASSWORD") and the new password works', async () => {
      const cleanup = []
      try {
        const { open } = await appOnFreshRealm(impl, cleanup)
        const page = await open()
        assert.ok(await tryLogIn(page, 'alice'))
        await page.locator('#events', { hasText: 'onReady' }).waitFor()

        await startAction(page, 'UPDATE_PASSWORD')
        await onActionPage(page) // the session is fresh: no login form first
        await page.fill('#password-new', 'n3w-secret')
        await page.fill('#password-confirm', 'something else')
        await page.click('#kc-passwd-update-form input[type=submit]')
        await page.locator('#input-error-password-confirm', { hasText: "Passwords don't match." }).waitFor()
        assert.equal(new URL(page.url()).hostname, 'idp.localhost', 'still on the form')
        await page.fill('#password-new', 'n3w-secret')
        await page.fill('#password-confirm', 'n3w-secret')
        await page.click('#kc-passwd-update-form input[type=submit]')
        assert.deepEqual(await backInApp(page), [
          ['onActionUpdate', ['success', 'UPDATE_PASSWORD']],
          ['onAuthSuccess', undefined]
        ])
        assert.equal(await page.locator('#username').textContent(), 'alice')
        assert.deepEqual(page.errors, [])

        // Another browser: the old password is refused, the new one logs in.
        const other = await open()
        assert.equal(await tryLogIn(other, 'alice'), false, 'the old password no longer works')
        await fillLogin(other, { username: 'alice', password: 'n3w-secret' })
        await other.waitForURL((u) => u.hostname === 'app.localhost')
        await other.locator('#status', { hasText: /^authenticated$/ }).waitFor()
        assert.equal(await other.locator('#username').textContent(), 'alice')
      } finally {
        await runCleanup(cleanup)
      }
    })

    test('UPDATE_PASSWORD while logged out: the login form first, then cancel gives ("cancelled", "UPDATE_PASSWORD") and the password stays', async () => {
      const cleanup = []
      try {
        const { open } = await appOnFreshRealm(impl, cleanup)
        const page = await open()
        await startAction(page, 'UPDATE_PASSWORD')
        await fillLogin(page, { username: 'alice', password: 'alice' })
        await onActionPage(page)
        await page.fill('#password-new', 'never-used')
        await page.fill('#password-confirm', 'never-used')
        await page.click('button[name="cancel-aia"]')
        assert.deepEqual(await backInApp(page), [
          ['onActionUpdate', ['cancelled', 'UPDATE_PASSWORD']],
          ['onAuthSuccess', undefined]
        ])
        assert.deepEqual(page.errors, [])

        const other = await open()
        assert.equal(await tryLogIn(other, 'alice'), true, 'cancel kept the password')
      } finally {
        await runCleanup(cleanup)
      }
    })

    test('an action the realm does not run comes back at once as ("error", "CONFIGURE_TOTP")', async () => {
      const cleanup = []
      try {
        const { open } = await appOnFreshRealm(impl, cleanup)
        const page = await open()
        assert.ok(await tryLogIn(page, 'alice'))
        await page.locator('#events', { hasText: 'onReady' }).waitFor()
        await startAction(page, 'CONFIGURE_TOTP')
        assert.deepEqual(await backInApp(page), [
          ['onActionUpdate', ['error', 'CONFIGURE_TOTP']],
          ['onAuthSuccess', undefined]
        ])
        assert.deepEqual(page.errors, [])
      } finally {
        await runCleanup(cleanup)
      }
    })
  })
}
