// verifyTokens (ours): tokens are checked against the realm's keys before any property
// changes. The realm sits behind a proxy that can tamper with the token endpoint's
// answers the way anything between app and realm could: a payload changed under its
// signature (`admin` added to the realm roles), `alg: none`, HS256 signed with the realm's
// public key (key confusion), a `kid` the realm does not have, an ID token for another
// client. keycloak-wasm rejects each with a clear error and keeps its tokens;
// keycloak-js checks no signature and takes them (a deliberate difference, asserted).
// Key rotation through the Admin API: the next refresh loads the keys again and verifies.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import http from 'node:http'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { fillLogin, logInThroughApp, openApp, settled } from '../support/api-helpers.mjs'
import { adminClient } from '../support/admin.mjs'
import { useStack } from '../support/use-stack.mjs'

let proxy
let tamper = null
let certsRequests = 0
const { stack, browser } = useStack({
  async setup ({ stack }) {
    proxy = await startProxy(Number(new URL(stack.realmUrl).port))
  },
  teardown () {
    proxy?.close()
  }
})

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
const part = (jwt, i) => JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString())

// The ways a token can be forged; each returns the new token response body.
const TAMPER = {
  payload (body) {
    const [h, , s] = body.access_token.split('.')
    const claims = part(body.access_token, 1)
    claims.realm_access = { roles: [...(claims.realm_access?.roles ?? []), 'admin'] }
    return { ...body, access_token: `${h}.${b64(claims)}.${s}` }
  },
  none (body) {
    return { ...body, access_token: `${b64({ alg: 'none', typ: 'JWT' })}.${body.access_token.split('.')[1]}.` }
  },
  async hs256 (body) {
    // Key confusion: HMAC with the realm's public key (as PEM) as the shared secret.
    const realm = await (await fetch(`http://127.0.0.1:${new URL(stack.realmUrl).port}/realms/demo`)).json()
    const pem = `-----BEGIN PUBLIC KEY-----\n${realm.public_key.match(/.{1,64}/g).join('\n')}\n-----END PUBLIC KEY-----\n`
    const signed = `${b64({ alg: 'HS256', typ: 'JWT', kid: part(body.access_token, 0).kid })}.${body.access_token.split('.')[1]}`
    return { ...body, access_token: `${signed}.${crypto.createHmac('sha256', pem).update(signed).digest('base64url')}` }
  },
  kid (body) {
    const [, p, s] = body.access_token.split('.')
    return { ...body, access_token: `${b64({ ...part(body.access_token, 0), kid: 'not-a-realm-key' })}.${p}.${s}` }
  },
  audience (body) {
    // Another client's ID token: the claims changed, so the signature breaks too; the
    // audience check comes first and names the problem.
    const [h, , s] = body.id_token.split('.')
    return { ...body, id_token: `${h}.${b64({ ...part(body.id_token, 1), aud: 'other-app', azp: 'other-app' })}.${s}` }
  }
}

const EXPECTED = {
  payload: 'Token verification failed: invalid signature.',
  none: "Token verification failed: the token's algorithm (alg) is not allowed.",
  hs256: "Token verification failed: the token's algorithm (alg) is not allowed.",
  kid: 'Token verification failed: no key of the realm matches the token.',
  audience: 'Token verification failed: the ID token was issued to another client.'
}

/** Forwards to the realm (Host kept, so the realm's URLs name the proxy); rewrites token answers when told. */
function startProxy (realmPort) {
  const server = http.createServer((req, res) => {
    if (req.url.endsWith('/protocol/openid-connect/certs')) certsRequests++
    const upstream = http.request({ host: '127.0.0.1', port: realmPort, method: req.method, path: req.url, headers: req.headers }, async (up) => {
      const isToken = req.method === 'POST' && req.url.endsWith('/protocol/openid-connect/token') && up.statusCode === 200
      if (!isToken || !tamper) {
        res.writeHead(up.statusCode, up.headers)
        up.pipe(res)
        return
      }
      const chunks = []
      for await (const c of up) chunks.push(c)
      const body = JSON.stringify(await TAMPER[tamper](JSON.parse(Buffer.concat(chunks))))
      res.writeHead(up.statusCode, { ...up.headers, 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    server.url = `http://proxy.localhost:${server.address().port}`
    resolve(server)
  }))
}

const config = () => ({ url: proxy.url, realm: 'demo', clientId: 'demo-app' })
const state = (page) => page.evaluate(() => ({ token: window.keycloak.token, idToken: window.keycloak.idToken, admin: window.keycloak.hasRealmRole('admin') }))
const refresh = (page) => page.evaluate(() => window.keycloak.updateToken(-1).then((v) => ({ value: v }), (e) => ({ error: e?.message })))

async function loggedIn (impl) {
  const page = await newPage(browser)
  await openApp(page, stack, impl, { checkLoginIframe: false, verifyTokens: true }, config())
  assert.equal(await settled(page), 'not authenticated')
  await logInThroughApp(page)
  return page
}

for (const impl of IMPLS) {
  describe(impl, () => {
    test(impl === 'keycloak-wasm'
      ? 'verifyTokens: a tampered payload, alg none, HS256 with the public key, an unknown kid, another client\'s ID token: each refresh rejects with a clear error, tokens kept'
      : 'keycloak-js checks no signature: every forged token is taken (deliberate difference)', async () => {
      const page = await loggedIn(impl)
      try {
        for (const mode of Object.keys(TAMPER)) {
          const before = await state(page)
          assert.equal(before.admin, false)
          tamper = mode
          certsRequests = 0
          const r = await refresh(page)
          tamper = null
          if (impl === 'keycloak-wasm') {
            assert.deepEqual(r, { error: EXPECTED[mode] }, mode)
            assert.deepEqual(await state(page), before, `${mode}: the previous tokens stay`)
            // An unknown kid loads the keys once more (the realm may have rotated); nothing else does.
            assert.equal(certsRequests, mode === 'kid' ? 1 : 0, `${mode}: keys loaded again`)
          } else {
            assert.deepEqual(r, { value: true }, mode)
            const after = await state(page)
            assert.notEqual(after.token, before.token, `${mode}: keycloak-js took the forged token`)
            if (mode === 'payload') assert.equal(after.admin, true, 'hasRealmRole(admin) turned true')
          }
          // An honest refresh works again (and for keycloak-js replaces the forged token).
          assert.deepEqual(await refresh(page), { value: true }, `${mode}: honest refresh`)
        }
      } finally {
        tamper = null
      }
      await page.context().close()
    })

    if (impl === 'keycloak-wasm') {
      test('verifyTokens: forged tokens passed to init are refused before any property changes; genuine ones are taken', async () => {
        const page = await loggedIn(impl)
        const good = await page.evaluate(() => ({ token: window.keycloak.token, refreshToken: window.keycloak.refreshToken, idToken: window.keycloak.idToken }))
        const forged = TAMPER.payload({ access_token: good.token }).access_token
        const other = await newPage(browser)
        await openApp(other, stack, impl, { checkLoginIframe: false, verifyTokens: true, ...good, token: forged }, config())
        await other.locator('#init-result', { hasText: 'rejected' }).waitFor()
        assert.equal(await other.locator('#error').textContent(), 'Token verification failed: invalid signature.')
        assert.deepEqual(await other.evaluate(() => [window.keycloak.token, window.keycloak.authenticated]), [undefined, false])
        await openApp(other, stack, impl, { checkLoginIframe: false, verifyTokens: true, ...good }, config())
        await other.locator('#init-result', { hasText: 'resolved' }).waitFor()
        assert.equal(await other.locator('#status').textContent(), 'authenticated')
        await Promise.all([page.context().close(), other.context().close()])
      })

      test('verifyTokens: the realm rotates its key through the Admin API; the next refresh loads the keys again and verifies', async () => {
        const page = await loggedIn(impl)
        const oldKid = part(await page.evaluate(() => window.keycloak.token), 0).kid
        const admin = adminClient(stack.realmUrl.replace('idp.localhost', '127.0.0.1'))
        const { kid } = await admin.rotateKeys('demo')
        assert.notEqual(kid, oldKid)
        certsRequests = 0
        assert.deepEqual(await refresh(page), { value: true })
        assert.equal(part(await page.evaluate(() => window.keycloak.token), 0).kid, kid, 'signed with the new key')
        assert.equal(certsRequests, 1, 'the keys loaded once more')
        await page.context().close()
      })

      test('verifyTokens: keys that fail to load (503) reject the login callback with a clear error; nothing is set; works once the realm is back', async () => {
        const realmPort = new URL(stack.realmUrl).port
        const faults = (body) => fetch(`http://127.0.0.1:${realmPort}/__faults`, { method: 'PUT', body: JSON.stringify(body) })
        const page = await newPage(browser)
        await openApp(page, stack, impl, { checkLoginIframe: false, verifyTokens: true }, config())
        await settled(page)
        await faults({ faults: { certs: 'status:503' } })
        try {
          await page.click('#login')
          await fillLogin(page)
          await page.waitForURL((u) => u.hostname === 'app.localhost')
          await page.locator('#init-result', { hasText: 'rejected' }).waitFor()
          assert.equal(await page.locator('#error').textContent(), "Token verification failed: the realm's keys (JWKS) could not be loaded.")
          assert.match(await page.locator('#events').textContent(), /onAuthError/)
          assert.deepEqual(await page.evaluate(() => [window.keycloak.token, window.keycloak.authenticated]), [undefined, false])
        } finally {
          await faults({})
        }
        // The realm session is there: the next login comes straight back, and is verified.
        await page.click('#login')
        await page.waitForURL((u) => u.hostname === 'app.localhost')
        await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
        await page.context().close()
      })

      test('without verifyTokens nothing is checked and no key is loaded (the option is off by default)', async () => {
        const page = await newPage(browser)
        await openApp(page, stack, impl, { checkLoginIframe: false }, config())
        await settled(page)
        await logInThroughApp(page)
        certsRequests = 0
        tamper = 'payload'
        try {
          assert.deepEqual(await refresh(page), { value: true })
        } finally {
          tamper = null
        }
        assert.equal((await state(page)).admin, true)
        assert.equal(certsRequests, 0)
        await page.context().close()
      })
    }
  })
}
