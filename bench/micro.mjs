// In-page costs, keycloak-wasm vs keycloak-js, on the demo app logged in as alice:
// updateToken(-1) against the realm server, 10,000 role checks, and token handling with
// 1.5 KB tokens (a refresh answered instantly by the test, so what is left is the
// adapter's own work: parse the response, decode three tokens, update its state).
// Plus the wasm's start-up: inflate, compile, instantiate, and its linear memory.
import { launchBrowser, newPage } from '../tests/support/browser.mjs'
import { ensureRealmBuilt } from '../scripts/serve/realm.mjs'
import { IMPLS, startStack } from '../tests/support/fixture.mjs'

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const b64url = (s) => Buffer.from(s).toString('base64url')

// An unsigned JWT of about `size` characters (adapters decode, they do not verify).
function bigToken (size, claims) {
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'bench' }))
  const sig = 'x'.repeat(342)
  let pad = ''
  for (;;) {
    const body = b64url(JSON.stringify({ ...claims, pad }))
    const t = `${head}.${body}.${sig}`
    if (t.length >= size) return t
    pad += 'p'.repeat(Math.max(1, Math.floor((size - t.length) * 0.75)))
  }
}

export async function measureMicro ({ rounds = 7 } = {}) {
  await ensureRealmBuilt()
  const stack = await startStack()
  const browser = await launchBrowser()
  const results = { updateTokenRtt: {}, roleChecks10k: {}, refreshWith1500ByteTokens: {}, tokenBytes: 0 }
  try {
    const now = Math.floor(Date.now() / 1000)
    const claims = { exp: now + 300, iat: now, sub: 'u', sid: 's', typ: 'Bearer', azp: 'demo-app', realm_access: { roles: ['user', 'a', 'b'] }, resource_access: { 'demo-app': { roles: ['viewer'] } } }
    const token = bigToken(1500, claims)
    results.tokenBytes = token.length
    const canned = JSON.stringify({ access_token: token, refresh_token: bigToken(1500, { ...claims, typ: 'Refresh' }), id_token: bigToken(1500, { ...claims, typ: 'ID' }), token_type: 'Bearer', expires_in: 300 })
    for (const impl of IMPLS) {
      const page = await newPage(browser)
      await page.goto(new URL('/app.css', stack.appUrl(impl)).href)
      await page.evaluate(() => sessionStorage.setItem('demo.init', JSON.stringify({ checkLoginIframe: false })))
      await page.goto(stack.appUrl(impl))
      await page.locator('#init-result', { hasText: 'resolved' }).waitFor()
      await page.click('#login')
      await page.fill('#username', 'alice')
      await page.fill('#password', 'alice')
      await page.click('#kc-login')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()

      const rtt = await page.evaluate(async (n) => {
        const out = []
        for (let i = 0; i < n; i++) { const t = performance.now(); await window.keycloak.updateToken(-1); out.push(performance.now() - t) }
        return out
      }, 20)
      const roles = []
      for (let r = 0; r < rounds; r++) {
        roles.push(await page.evaluate(() => {
          const kc = window.keycloak
          let hits = 0
          const t = performance.now()
          for (let i = 0; i < 5000; i++) { if (kc.hasRealmRole('user')) hits++; if (kc.hasResourceRole('viewer')) hits++ }
          return hits === 10000 ? performance.now() - t : NaN
        }))
      }
      await page.route(/\/protocol\/openid-connect\/token$/, (route) => route.fulfill({ contentType: 'application/json', headers: { 'access-control-allow-origin': new URL(stack.appUrl(impl)).origin, 'access-control-allow-credentials': 'true' }, body: canned }))
      const refresh = await page.evaluate(async (n) => {
        const out = []
        for (let i = 0; i < n; i++) { const t = performance.now(); await window.keycloak.updateToken(-1); out.push(performance.now() - t) }
        return window.keycloak.token.length > 1000 ? out : []
      }, 30)
      results.updateTokenRtt[impl] = +median(rtt).toFixed(2)
      results.roleChecks10k[impl] = +median(roles).toFixed(2)
      results.refreshWith1500ByteTokens[impl] = +median(refresh).toFixed(2)
      await page.context().close()
    }
    results.startup = await measureStartup(browser, stack)
  } finally {
    await browser.close()
    await stack.stop()
  }
  return results
}

// The wasm's start-up steps as the facade and the driver run them, timed one by one in
// fresh pages: base64 decode + inflate, compile, instantiate.
async function measureStartup (browser, stack) {
  const samples = []
  for (let i = 0; i < 15; i++) {
    const page = await newPage(browser)
    await page.goto(new URL('/app.css', stack.appUrl('keycloak-wasm')).href)
    samples.push(await page.evaluate(async () => {
      const { default: b64 } = await import('/pkg/keycloak_wasm_bytes.js')
      const t0 = performance.now()
      const packed = Uint8Array.fromBase64 ? Uint8Array.fromBase64(b64) : Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
      const t1 = performance.now()
      // As the facade does it: compiled while it is inflated.
      const stream = new Response(packed).body.pipeThrough(new DecompressionStream('deflate-raw'))
      const module = await WebAssembly.compileStreaming(new Response(stream, { headers: { 'content-type': 'application/wasm' } }))
      const t2 = performance.now()
      const instance = new WebAssembly.Instance(module, {})
      const t3 = performance.now()
      return { decode: t1 - t0, inflateAndCompile: t2 - t1, instantiate: t3 - t2, total: t3 - t0, memory: instance.exports.memory.buffer.byteLength }
    }))
    await page.context().close()
  }
  const m = (k) => +median(samples.map((s) => s[k])).toFixed(2)
  return { base64Ms: m('decode'), inflateAndCompileMs: m('inflateAndCompile'), instantiateMs: m('instantiate'), totalMs: m('total'), linearMemoryBytes: samples[0].memory }
}

export function printMicro (m) {
  // Below the timer's 0.1 ms, a ratio means nothing.
  const ratio = (a, b) => (a > 0 && b > 0 ? String(+(a / b).toFixed(2)) : '-')
  const row = (name, v) => console.log('  ' + name.padEnd(58) + String(v['keycloak-wasm']).padStart(10) + String(v['keycloak-js']).padStart(12) + ratio(v['keycloak-wasm'], v['keycloak-js']).padStart(7))
  console.log('\nIn the page (ms, median)')
  console.log('  ' + ''.padEnd(58) + 'wasm'.padStart(10) + 'keycloak-js'.padStart(12) + 'ratio'.padStart(7))
  row('updateToken(-1) round trip to the realm server', m.updateTokenRtt)
  row('10,000 role checks (hasRealmRole + hasResourceRole)', m.roleChecks10k)
  row(`updateToken(-1), instant answer, three ${m.tokenBytes}-byte tokens`, m.refreshWith1500ByteTokens)
  const s = m.startup
  console.log(`\nWasm start-up (ms, median of 15): ${s.totalMs} (base64 ${s.base64Ms}, inflate and compile together ${s.inflateAndCompileMs}, instantiate ${s.instantiateMs}); linear memory ${Math.round(s.linearMemoryBytes / 1024)} KiB`)
}
