// check-sso, silent check-sso, the session status iframe and the third-party-cookie
// probe (reference §3-§5), in two browser profiles: third-party cookies allowed and
// blocked (each confirmed by the realm's own probe page). App and realm are different
// sites (app.localhost, idp.localhost). Every scenario runs against keycloak-wasm and
// keycloak-js; where we deliberately differ, the test says so.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { launchProfile, profilePage, thirdPartyCookies } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { askStatusIframe } from '../support/in-page.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack } = useStack({ browser: false })

const text = (page, id) => page.locator(`#${id}`).textContent()
const silentUri = (impl) => new URL('/silent-check-sso.html', stack.appUrl(impl)).href

/** Opens the app in a fresh tab with the given init options (and config overrides);
 * `forget`: first remove keycloak-wasm's session hint, as on a first visit. */
async function openApp (context, impl, initOptions, config, forget) {
  const page = await profilePage(context)
  await page.goto(new URL('/app.css', stack.appUrl(impl)).href)
  await page.evaluate(([o, c, f]) => {
    sessionStorage.setItem('demo.init', JSON.stringify(o))
    if (c) sessionStorage.setItem('demo.config', JSON.stringify(c))
    if (f) for (const k of Object.keys(localStorage)) if (k.startsWith('kc-wasm-sso-')) localStorage.removeItem(k)
  }, [initOptions, config, forget])
  page.navigations = 0
  await page.goto(stack.appUrl(impl))
  return page
}

async function settled (page) {
  await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
  await page.locator('#status', { hasText: /authenticated/ }).waitFor()
  return text(page, 'status')
}

/** The keys in the app's storage that start with `prefix`. */
const stored = (page, prefix) => page.evaluate((p) => Object.keys(localStorage).filter((k) => k.startsWith(p)), prefix)
/** keycloak-wasm's session hints in the app's storage. */
const hints = (page) => stored(page, 'kc-wasm-sso-')
/** The callback records (state, nonce, PKCE verifier) in the app's storage. */
const callbackRecords = (page) => stored(page, 'kc-callback-')

/** Collects the silent check-sso authorization requests of `context` while `fn` runs. */
const silentAuths = (context, impl, fn) => requests(context, (u) => u.includes('/protocol/openid-connect/auth?') && u.includes(`redirect_uri=${encodeURIComponent(silentUri(impl))}`), fn)

/** Collects the third-party-cookie probe's first page requests of `context` while `fn` runs. */
const probes = (context, fn) => requests(context, (u) => u.includes('/3p-cookies/step1.html'), fn)

/** The URLs of the requests of `context` (frames included) that `match` while `fn` runs. */
async function requests (context, match, fn) {
  const urls = []
  const onRequest = (r) => { if (match(r.url())) urls.push(r.url()) }
  context.on('request', onRequest)
  try {
    await fn()
  } finally {
    context.off('request', onRequest)
  }
  return urls
}

/** The names of the adapter events the demo app has logged, oldest first. */
async function eventNames (page) {
  return (await page.locator('#events li').allTextContents()).map((t) => t.split(' ')[1])
}

/** What the realm's session status page answers for `sid`, asked from `page` (see in-page.mjs). */
const askStatus = (page, sid) => page.evaluate(askStatusIframe, [stack.realmUrl, 'demo-app', sid])

/** Clicks Log in, fills the realm's form as alice, and waits to be back authenticated. */
async function submitLogin (page) {
  await page.click('#login')
  await page.fill('#username', 'alice')
  await page.fill('#password', 'alice')
  await page.click('#kc-login')
  await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
}

/** Logs alice in through the form with the iframe off, so the session cookie exists. */
async function logIn (context, impl) {
  const page = await openApp(context, impl, { checkLoginIframe: false })
  await settled(page)
  await submitLogin(page)
  await page.close()
}

for (const allowed of [true, false]) {
  describe(`third-party cookies ${allowed ? 'allowed' : 'blocked'}`, () => {
    let context
    before(async () => {
      context = await launchProfile({ thirdPartyCookies: allowed })
      assert.equal(await thirdPartyCookies(context, stack.appUrl('keycloak-wasm'), stack.realmUrl), allowed ? 'supported' : 'unsupported', 'the profile is in the intended cookie state')
    })
    after(async () => { await context?.close() })

    for (const impl of IMPLS) {
      describe(impl, () => {
        before(async () => { await context.clearCookies() })

        test('check-sso without a session ends unauthenticated with a clean URL', async () => {
          await context.clearCookies()
          const page = await openApp(context, impl, { onLoad: 'check-sso' })
          assert.equal(await settled(page), 'not authenticated')
          assert.doesNotMatch(page.url(), /error=|state=/)
          // allowed: the status iframe answers "unchanged" (no session), so no redirect;
          // blocked: the iframe is off, so a prompt=none round trip through the realm.
          if (allowed) assert.equal(page.navigations, 1)
          else assert.ok(page.navigations >= 3, `navigations: ${page.navigations}`)
          assert.deepEqual(page.errors, [])
          await page.close()
        })

        test('check-sso with a session ends authenticated', async () => {
          await context.clearCookies()
          await logIn(context, impl)
          const page = await openApp(context, impl, { onLoad: 'check-sso' })
          assert.equal(await settled(page), 'authenticated')
          assert.equal(await text(page, 'username'), 'alice')
          assert.doesNotMatch(page.url(), /code=|state=/)
          await page.close()
        })

        test('silent check-sso with a session', async () => {
          await context.clearCookies()
          await logIn(context, impl)
          const page = await openApp(context, impl, { onLoad: 'check-sso', silentCheckSsoRedirectUri: silentUri(impl) })
          assert.equal(await settled(page), 'authenticated')
          assert.equal(await text(page, 'username'), 'alice')
          // allowed: tokens come through the hidden iframe, no top-level navigation;
          // blocked: the fallback turns it into a prompt=none redirect.
          if (allowed) assert.equal(page.navigations, 1)
          else assert.ok(page.navigations >= 3, `navigations: ${page.navigations}`)
          await page.close()
        })

        // Ours keeps a hint (no token in it) after a load that ended with a session, the probe
        // finding cookies working; the next load starts its silent check beside the probe and
        // the status iframe instead of after them (two round trips sooner). Once the session
        // has ended elsewhere that check is taken back on the iframe's `unchanged`: one
        // authorization request keycloak-js does not send (deliberate difference), once.
        test('the session hint: a returning visit, then one after the session ended', async () => {
          await context.clearCookies()
          await logIn(context, impl)
          const options = { onLoad: 'check-sso', silentCheckSsoRedirectUri: silentUri(impl) }
          // `sessionHint: false` (ours; keycloak-js ignores it): no hint is kept.
          let page = await openApp(context, impl, { ...options, sessionHint: false }, undefined, true)
          assert.equal(await settled(page), 'authenticated')
          assert.deepEqual(await hints(page), [])
          await page.close()
          page = await openApp(context, impl, options)
          assert.equal(await settled(page), 'authenticated')
          const hinted = impl === 'keycloak-wasm' && allowed
          assert.equal((await hints(page)).length, hinted ? 1 : 0, 'a hint only where the probe found cookies working')
          await page.close()
          // A returning visit: the same outcome, one silent check (with a session either way).
          let sent = await silentAuths(context, impl, async () => {
            page = await openApp(context, impl, options)
            assert.equal(await settled(page), 'authenticated')
          })
          assert.equal(sent.length, allowed ? 1 : 0, sent.join('\n'))
          assert.equal((await hints(page)).length, hinted ? 1 : 0, 'kept again')
          await page.close()
          // The session ends elsewhere: the hint is wrong once.
          await context.clearCookies()
          sent = await silentAuths(context, impl, async () => {
            page = await openApp(context, impl, options)
            assert.equal(await settled(page), 'not authenticated')
          })
          assert.equal(sent.length, hinted ? 1 : 0, sent.join('\n'))
          assert.equal(await page.locator('iframe[title="keycloak-silent-check-sso"]').count(), 0)
          assert.deepEqual(await callbackRecords(page), [], 'no callback record left')
          assert.deepEqual(await eventNames(page), ['onReady'])
          assert.deepEqual(await hints(page), [], 'no hint after a load without a session')
          assert.deepEqual(page.errors, [])
          await page.close()
          // And the next load sends none.
          sent = await silentAuths(context, impl, async () => {
            page = await openApp(context, impl, options)
            assert.equal(await settled(page), 'not authenticated')
          })
          assert.deepEqual(sent, [])
          await page.close()
        })

        // The same hint with check-sso by redirect and the status iframe (keycloak-js's
        // defaults): a returning visit redirects with prompt=none at once, before the probe and
        // the status iframe load (keycloak-js loads both, then redirects on `changed`), so the
        // probe runs on the callback's load only. Once the session has ended elsewhere, that
        // redirect comes back with login_required: one redirect keycloak-js does not make
        // (deliberate difference), once.
        test('the session hint with check-sso by redirect: a returning visit, then one after the session ended', async () => {
          await context.clearCookies()
          await logIn(context, impl)
          const options = { onLoad: 'check-sso' }
          const hinted = impl === 'keycloak-wasm' && allowed
          let page
          // A first visit: the probe on the redirecting load and on the callback's.
          let sent = await probes(context, async () => {
            page = await openApp(context, impl, options, undefined, true)
            assert.equal(await settled(page), 'authenticated')
          })
          assert.equal(sent.length, 2, sent.join('\n'))
          assert.equal((await hints(page)).length, hinted ? 1 : 0, 'a hint only where the probe found cookies working')
          await page.close()
          // A returning visit: the same outcome.
          sent = await probes(context, async () => {
            page = await openApp(context, impl, options)
            assert.equal(await settled(page), 'authenticated')
          })
          assert.equal(sent.length, hinted ? 1 : 2, 'ours redirects before the probe: ' + sent.join('\n'))
          assert.ok(page.navigations >= 3, `navigations: ${page.navigations}`)
          assert.equal(await text(page, 'username'), 'alice')
          assert.doesNotMatch(page.url(), /code=|state=/)
          assert.equal((await hints(page)).length, hinted ? 1 : 0, 'kept again')
          await page.close()
          // The session ends elsewhere: the hint is wrong once.
          await context.clearCookies()
          page = await openApp(context, impl, options)
          assert.equal(await settled(page), 'not authenticated')
          if (hinted) assert.ok(page.navigations >= 3, `the wrong hint's redirect: ${page.navigations}`)
          else if (allowed) assert.equal(page.navigations, 1, 'the status iframe said unchanged')
          assert.doesNotMatch(page.url(), /error=|state=/)
          assert.deepEqual(await eventNames(page), ['onReady'])
          assert.deepEqual(await callbackRecords(page), [], 'no callback record left')
          assert.deepEqual(await hints(page), [], 'no hint after a load without a session')
          assert.deepEqual(page.errors, [])
          await page.close()
          // And the next load keeps keycloak-js's order.
          page = await openApp(context, impl, options)
          assert.equal(await settled(page), 'not authenticated')
          if (allowed) assert.equal(page.navigations, 1, 'no redirect')
          await page.close()
        })

        test('silent check-sso without a session (status iframe off)', async () => {
          await context.clearCookies()
          const page = await openApp(context, impl, { onLoad: 'check-sso', checkLoginIframe: false, silentCheckSsoRedirectUri: silentUri(impl) })
          assert.equal(await settled(page), 'not authenticated')
          if (allowed) assert.equal(page.navigations, 1, 'the silent iframe answered login_required, no redirect')
          assert.deepEqual(page.errors, [])
          await page.close()
        })

        // With the status iframe on and no session (and no hint: a first visit), the iframe's
        // `unchanged` settles it: no silent check is sent (keycloak-js's order; ours asks the
        // iframe beside the probe).
        test('silent check-sso without a session (status iframe on): no silent check is sent', async () => {
          await context.clearCookies()
          let page
          const sent = await silentAuths(context, impl, async () => {
            page = await openApp(context, impl, { onLoad: 'check-sso', silentCheckSsoRedirectUri: silentUri(impl) }, undefined, true)
            assert.equal(await settled(page), 'not authenticated')
          })
          assert.equal(await text(page, 'init-result'), 'resolved')
          // allowed: the status iframe answers; blocked: the fallback redirect.
          if (allowed) assert.equal(page.navigations, 1, 'no redirect')
          else assert.ok(page.navigations >= 3, `navigations: ${page.navigations}`)
          assert.deepEqual(sent, [])
          assert.deepEqual(await callbackRecords(page), [], 'no callback record left')
          assert.deepEqual(await eventNames(page), ['onReady'])
          assert.deepEqual(page.errors, [])
          await page.close()
        })

        test('silent check-sso with the status iframe off and a session', async () => {
          await context.clearCookies()
          await logIn(context, impl)
          const page = await openApp(context, impl, { onLoad: 'check-sso', checkLoginIframe: false, silentCheckSsoRedirectUri: silentUri(impl) })
          assert.equal(await settled(page), 'authenticated')
          if (allowed) assert.equal(page.navigations, 1)
          await page.close()
        })

        test('silent check-sso with the fallback disabled', async () => {
          await context.clearCookies()
          await logIn(context, impl)
          const page = await openApp(context, impl, { onLoad: 'check-sso', silentCheckSsoRedirectUri: silentUri(impl), silentCheckSsoFallback: false })
          // blocked: the silent iframe cannot see the session cookie, so login_required,
          // swallowed: unauthenticated and no redirect, as keycloak-js documents.
          assert.equal(await settled(page), allowed ? 'authenticated' : 'not authenticated')
          assert.equal(page.navigations, 1)
          await page.close()
        })

        test('an unknown realm rejects init with the probe timeout', async () => {
          const page = await openApp(context, impl, { onLoad: 'check-sso', messageReceiveTimeout: 1000 }, { realm: 'no-such-realm' })
          await page.locator('#init-result', { hasText: 'rejected' }).waitFor()
          assert.equal(await text(page, 'error'), 'Timeout when waiting for 3rd party check iframe message.')
          await page.close()
        })

        if (allowed) {
          test('a logout in another tab expires KEYCLOAK_SESSION: the status iframe answers "changed", onAuthLogout fires', async () => {
            await context.clearCookies()
            const page = await openApp(context, impl, { checkLoginIframeInterval: 1 })
            await settled(page)
            await submitLogin(page)
            const sid = await page.evaluate(() => window.keycloak.tokenParsed.sid)
            assert.equal(await askStatus(page, sid), 'unchanged')
            // Log out from another tab, straight at the realm: the answer expires the cookie.
            const logoutUrl = await page.evaluate(() => window.keycloak.createLogoutUrl())
            const other = await context.newPage()
            await other.goto(logoutUrl)
            await other.close()
            assert.equal(await askStatus(page, sid), 'changed')
            await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor({ timeout: 5000 })
            assert.ok((await eventNames(page)).includes('onAuthLogout'))
            await page.evaluate(() => document.getElementById('refresh').removeAttribute('disabled'))
            await page.click('#refresh')
            await page.locator('#refresh-result', { hasText: 'error' }).waitFor()
            assert.equal(await text(page, 'refresh-result'), 'error: Unable to update token, no refresh token available.')
            await page.close()
          })

          test('an Admin API logout is not seen by the status iframe; the next refresh gets invalid_grant and logs out', async () => {
            await context.clearCookies()
            const page = await openApp(context, impl, { checkLoginIframeInterval: 1 })
            await settled(page)
            await submitLogin(page)
            const sid = await page.evaluate(() => window.keycloak.tokenParsed.sid)
            // What a Keycloak test fixture does: admin-cli password grant on master, then
            // POST /admin/realms/demo/users/{id}/logout.
            // Node does not resolve *.localhost as Chromium does: talk to the same server as localhost.
            const base = stack.realmUrl.replace('//idp.localhost:', '//localhost:')
            const tokenResponse = await fetch(`${base}/realms/master/protocol/openid-connect/token`, {
              method: 'POST',
              body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password: 'admin' })
            })
            assert.equal(tokenResponse.status, 200)
            const auth = { Authorization: `Bearer ${(await tokenResponse.json()).access_token}` }
            const [alice] = await (await fetch(`${base}/admin/realms/demo/users?username=alice&exact=true`, { headers: auth })).json()
            const logout = await fetch(`${base}/admin/realms/demo/users/${alice.id}/logout`, { method: 'POST', headers: auth })
            assert.equal(logout.status, 204)
            assert.deepEqual(await (await fetch(`${base}/admin/realms/demo/users/${alice.id}/sessions`, { headers: auth })).json(), [])
            // The session is gone on the server, but the browser keeps its KEYCLOAK_SESSION
            // cookie, and that cookie is all Keycloak's status iframe looks at.
            assert.equal(await askStatus(page, sid), 'unchanged')
            // So the adapter's own checks (every second) notice nothing either.
            await page.waitForTimeout(3500)
            assert.equal(await text(page, 'status'), 'authenticated')
            assert.ok(!(await eventNames(page)).includes('onAuthLogout'))
            // The next refresh learns it: 400 invalid_grant (a refresh of the same token from
            // here shows the body), so the tokens are cleared (onAuthLogout), then
            // onAuthRefreshError, and updateToken rejects.
            const refreshToken = await page.evaluate(() => window.keycloak.refreshToken)
            const direct = await fetch(`${base}/realms/demo/protocol/openid-connect/token`, {
              method: 'POST',
              body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'demo-app', refresh_token: refreshToken })
            })
            assert.equal(direct.status, 400)
            assert.equal((await direct.json()).error, 'invalid_grant')
            const refresh = page.waitForResponse((r) => r.url().endsWith('/protocol/openid-connect/token') && r.request().postData()?.includes('grant_type=refresh_token'))
            await page.click('#refresh')
            assert.equal((await refresh).status(), 400)
            await page.locator('#refresh-result', { hasText: 'error' }).waitFor()
            assert.equal(await text(page, 'refresh-result'), 'error: Server responded with an invalid status.')
            assert.equal(await text(page, 'status'), 'not authenticated')
            assert.deepEqual((await eventNames(page)).slice(-2), ['onAuthLogout', 'onAuthRefreshError'])
            assert.equal(await page.evaluate(() => window.keycloak.token ?? null), null)
            await page.close()
          })

          test(impl === 'keycloak-wasm'
            ? 'a missing silent-check-sso page rejects init after the timeout'
            : 'a missing silent-check-sso page leaves init pending (known keycloak-js hang)', async () => {
            const page = await openApp(context, impl, { onLoad: 'check-sso', checkLoginIframe: false, silentCheckSsoRedirectUri: new URL('/no-such-page.html', stack.appUrl(impl)).href, silentCheckSsoTimeout: 1500 })
            if (impl === 'keycloak-wasm') {
              await page.locator('#init-result', { hasText: 'rejected' }).waitFor({ timeout: 5000 })
              assert.equal(await text(page, 'error'), 'Timeout when waiting for the silent check-sso iframe message.')
            } else {
              // Deliberate difference: keycloak-js has no timeout here (keycloak-js #135).
              await page.waitForTimeout(4000)
              assert.equal(await text(page, 'init-result'), 'pending')
            }
            assert.equal(await page.locator('iframe[title="keycloak-silent-check-sso"]').count(), impl === 'keycloak-wasm' ? 0 : 1, 'our iframe is removed')
            await page.close()
          })
        }
      })
    }
  })
}
