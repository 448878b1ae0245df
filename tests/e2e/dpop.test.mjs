// dpop (ours; keycloak-js 26.2.4 has no DPoP, and a realm client that requires it turns
// keycloak-js away at the code exchange): login, refresh and loadUserInfo with DPoP-bound
// tokens against a client with `dpop.bound.access.tokens`; keycloak.fetch against a small
// resource server that checks the proof (signature with its jwk, htm, htu, ath, the
// token's cnf.jkt) and asks once for a nonce; and what the realm refuses: a replayed
// proof, a proof for another URL, the token presented with another key.
import { describe, test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import http from 'node:http'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { apiRealm, logInThroughApp, openApp, realmRequest, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const realmFor = (appOrigin, extra) => {
  const realm = apiRealm(appOrigin, extra)
  const base = realm.clients[0]
  realm.clients.push({ ...base, clientId: 'dpop-app', attributes: { ...base.attributes, 'dpop.bound.access.tokens': 'true' } })
  return realm
}
const { stack, browser } = useStack({ api: true, realmFor })

const b64 = (buf) => Buffer.from(buf).toString('base64url')
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'))
const thumbprint = (jwk) => b64(crypto.createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest())

/** Checks a DPoP proof as a resource server would; returns its problem or null. */
function checkProof (proof, method, url, token, nonce) {
  const [h, p, s] = String(proof).split('.')
  const header = JSON.parse(Buffer.from(h, 'base64url'))
  const c = JSON.parse(Buffer.from(p, 'base64url'))
  if (header.typ !== 'dpop+jwt' || header.alg !== 'ES256') return 'header'
  const key = crypto.createPublicKey({ key: header.jwk, format: 'jwk' })
  if (!crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) return 'signature'
  if (c.htm !== method || c.htu !== url.split('?')[0]) return 'htm/htu'
  if (c.ath !== b64(crypto.createHash('sha256').update(token).digest())) return 'ath'
  if (claims(token).cnf?.jkt !== thumbprint(header.jwk)) return 'cnf.jkt'
  if (nonce && c.nonce !== nonce) return 'nonce'
  return null
}

// The app's own API: CORS for app.localhost, a nonce asked for on the first call.
let api
const seen = []
before(async () => {
  api = http.createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*')
    res.setHeader('Access-Control-Allow-Headers', 'authorization, dpop')
    res.setHeader('Access-Control-Expose-Headers', 'DPoP-Nonce, WWW-Authenticate')
    if (req.method === 'OPTIONS') return res.end()
    const url = `http://127.0.0.1:${api.address().port}${req.url}`
    const auth = req.headers.authorization ?? ''
    const token = auth.startsWith('DPoP ') ? auth.slice(5) : ''
    seen.push({ auth: auth.split(' ')[0], proof: req.headers.dpop })
    if (!req.headers.dpop || !token) { res.statusCode = 401; return res.end('no proof') }
    const nonceWanted = req.url.includes('nonce')
    const nonce = nonceWanted ? 'server-nonce-1' : null
    if (nonceWanted && !claims(req.headers.dpop).nonce) {
      res.statusCode = 401
      res.setHeader('DPoP-Nonce', nonce)
      res.setHeader('WWW-Authenticate', 'DPoP error="use_dpop_nonce"')
      return res.end()
    }
    const problem = checkProof(req.headers.dpop, req.method, url, token, nonce)
    res.statusCode = problem ? 401 : 200
    res.end(problem ?? JSON.stringify({ ok: true }))
  })
  await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve))
})
after(() => api?.close())

async function dpopPage (impl) {
  const page = await newPage(browser)
  await openApp(page, stack, impl, { checkLoginIframe: false, dpop: true }, { clientId: 'dpop-app' })
  assert.equal(await settled(page), 'not authenticated')
  return page
}

for (const impl of IMPLS) {
  describe(impl, () => {
    if (impl === 'keycloak-js') {
      test('keycloak-js has no DPoP: a client that requires it refuses its code exchange (deliberate difference)', async () => {
        const page = await dpopPage(impl)
        await page.click('#login')
        await page.locator('#kc-form-login #username').waitFor()
        await page.fill('#username', 'alice')
        await page.fill('#password', 'alice')
        await page.click('#kc-login')
        await page.waitForURL((u) => u.hostname === 'app.localhost')
        assert.equal(await settled(page), 'not authenticated')
        assert.match(await page.locator('#events').textContent(), /onAuthError/)
        await page.context().close()
      })
      return
    }

    test('dpop: login, refresh and loadUserInfo with tokens bound to the browser\'s key', async () => {
      const page = await dpopPage(impl)
      await logInThroughApp(page)
      const token = await page.evaluate(() => window.keycloak.token)
      assert.equal(claims(token).typ, 'DPoP')
      assert.ok(claims(token).cnf?.jkt, 'cnf.jkt')
      assert.equal(await page.evaluate(() => window.keycloak.updateToken(-1)), true)
      const again = await page.evaluate(() => window.keycloak.token)
      assert.notEqual(again, token)
      assert.equal(claims(again).cnf.jkt, claims(token).cnf.jkt, 'the same key')
      const info = await page.evaluate(() => window.keycloak.loadUserInfo())
      assert.equal(info.preferred_username, 'alice')
      // The key never leaves the browser: not extractable.
      const extractable = await page.evaluate(() => new Promise((resolve) => {
        const r = indexedDB.open('keycloak-wasm')
        r.onsuccess = () => { const g = r.result.transaction('kv').objectStore('kv').get('dpop'); g.onsuccess = () => resolve(g.result.privateKey.extractable) }
      }))
      assert.equal(extractable, false)
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('dpop: keycloak.fetch to the app\'s own API with a checked proof, again with the nonce it asks for', async () => {
      const page = await dpopPage(impl)
      await logInThroughApp(page)
      const base = `http://127.0.0.1:${api.address().port}`
      const r = await page.evaluate(async (base) => {
        const a = await window.keycloak.fetch(`${base}/items?x=1`)
        const b = await window.keycloak.fetch(new Request(`${base}/nonce`, { method: 'POST', body: 'hello' }))
        return [a.status, await a.text(), b.status, await b.text()]
      }, base)
      assert.deepEqual(r, [200, '{"ok":true}', 200, '{"ok":true}'])
      assert.equal(seen.filter((s) => s.auth === 'DPoP').length, 3, 'one call, then one asked again for a nonce')
      await page.context().close()
    })

    test('dpop: the realm refuses a replayed proof, a proof for another URL, and the token with another key', async () => {
      const page = await dpopPage(impl)
      await logInThroughApp(page)
      const tokenUrl = `${stack.realmUrl}/realms/demo/protocol/openid-connect/token`
      const userinfo = `${stack.realmUrl}/realms/demo/protocol/openid-connect/userinfo`
      // A refresh's proof, replayed by someone who copied the request.
      const refreshReq = page.waitForRequest((r) => r.url() === tokenUrl && r.postData()?.includes('refresh_token'))
      await page.evaluate(() => window.keycloak.updateToken(-1))
      const req = await refreshReq
      const form = { 'content-type': 'application/x-www-form-urlencoded' }
      const replay = await realmRequest(tokenUrl, { method: 'POST', headers: { ...form, dpop: req.headers().dpop }, body: req.postData() })
      assert.equal(replay.status, 400)
      assert.equal(JSON.parse(replay.body).error_description, 'DPoP proof has already been used')
      // A proof the app made for another URL, at the token endpoint.
      const other = await page.evaluate(() => window.keycloak.createDpopProof('POST', 'https://api.example/somewhere'))
      const rt = await page.evaluate(() => window.keycloak.refreshToken)
      const wrong = await realmRequest(tokenUrl, { method: 'POST', headers: { ...form, dpop: other }, body: `grant_type=refresh_token&client_id=dpop-app&refresh_token=${rt}` })
      assert.equal(wrong.status, 400)
      assert.equal(JSON.parse(wrong.body).error_description, 'DPoP HTTP URL mismatch')
      // The access token with a proof from a key of the thief's.
      const token = await page.evaluate(() => window.keycloak.token)
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const jwk = publicKey.export({ format: 'jwk' })
      const head = b64(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk }))
      const body = b64(JSON.stringify({ jti: crypto.randomUUID(), htm: 'GET', htu: userinfo, iat: Math.floor(Date.now() / 1000), ath: b64(crypto.createHash('sha256').update(token).digest()) }))
      const sig = b64(crypto.sign('sha256', Buffer.from(`${head}.${body}`), { key: privateKey, dsaEncoding: 'ieee-p1363' }))
      const stolen = await realmRequest(userinfo, { headers: { authorization: `DPoP ${token}`, dpop: `${head}.${body}.${sig}` } })
      assert.equal(stolen.status, 401)
      assert.match(stolen.headers['www-authenticate'], /^DPoP algs=".*", realm="demo", error="invalid_token"/)
      // The same request with the page's own proof works: it is the key that was refused.
      const own = await page.evaluate((u) => window.keycloak.createDpopProof('GET', u), userinfo)
      const fine = await realmRequest(userinfo, { headers: { authorization: `DPoP ${token}`, dpop: own } })
      assert.equal(fine.status, 200, fine.body)
      // (A token bound to another key than the page's is refused by the adapter itself:
      // tests/machine/flows.rs, dpop_proofs_on_token_requests_and_bound_tokens_with_the_dpop_scheme.)
      await page.context().close()
    })
  })
}
