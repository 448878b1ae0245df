// keycloak-wasm's additions (verifyTokens, autoRefresh, syncTabs, persistSession, dpop,
// keycloak-wasm/authz) and keycloak-js's Cordova adapters: the state machine built with
// them, and the effects only they emit. The package's entry carries the machine built
// without them; the facade loads this module (a chunk of its own) only when init() asks
// for one of them (or runs in Cordova) or keycloak-wasm/authz is in use, so an app that
// uses none never downloads it. The driver (pkg/driver.js) hands every effect it does not
// know to `more`.
import wasm from './keycloak_wasm_full_bytes.js'

export { wasm }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** One effect of the additions; `d` is the Driver, `ret` answers the effect. */
export function more (d, e, ret) {
  d.wins ??= new Map() // InAppBrowser windows and system-browser tabs, by id
  switch (e[0]) {
    case 'win': {
      // [win, task, id, url, options]: an InAppBrowser window (window.open without the plugin).
      const iab = globalThis.cordova?.InAppBrowser
      const ref = (iab?.open ? iab : globalThis).open(e[3], '_blank', e[4])
      if (typeof ref?.addEventListener !== 'function') {
        ret(e[2], 0, 0)
        break
      }
      const listeners = ['loadstart', 'loaderror', 'exit'].map((type) => [type, (event) => d.send('event', e[2], type, event?.url ?? null)])
      for (const [type, f] of listeners) ref.addEventListener(type, f)
      d.wins.set(e[2], { ref, listeners })
      ret(e[2], 1, 0)
      break
    }
    case 'tab': {
      // [tab, task, id, url, link]: the system browser; with `link`, the deep link back.
      const tab = globalThis.cordova?.plugins?.browsertab
      const links = globalThis.universalLinks
      if (!tab) {
        ret(e[2], 0, 0, 'tab')
        break
      }
      if (e[4]) {
        if (!links) {
          ret(e[2], 0, 0, 'links')
          break
        }
        links.subscribe(e[4], (event) => d.send('event', e[2], 'link', event?.url ?? null))
        d.wins.set(e[2], { tab, links, name: e[4] })
      }
      tab.openUrl(e[3])
      ret(e[2], 1, 0)
      break
    }
    case 'winclose': {
      // [winclose, id, mode]: 0 forget (listeners go), 1 close too, 2 close and still report `exit`.
      const w = d.wins.get(e[1])
      if (!w) break
      if (e[2] !== 2) d.wins.delete(e[1])
      try {
        if (w.ref) {
          if (e[2]) w.ref.close()
          if (e[2] !== 2) for (const [type, f] of w.listeners) w.ref.removeEventListener(type, f)
        } else {
          w.links.unsubscribe(w.name)
          if (e[2]) w.tab.close()
        }
      } catch (x) {}
      break
    }
    case 'watch': {
      // autoRefresh: tell the machine when the page shows again or the network is back.
      const wake = () => d.send('wake')
      document.addEventListener('visibilitychange', wake)
      addEventListener('online', wake)
      break
    }
    case 'tabs':
      // [tabs, name]: syncTabs' channel to the other tabs of the origin.
      if (globalThis.BroadcastChannel) {
        d.bc = new BroadcastChannel(e[1])
        d.bc.onmessage = (m) => typeof m.data === 'string' && d.send('tab', m.data)
      }
      break
    case 'tabpost':
      d.bc?.postMessage(e[1])
      break
    case 'cas':
      cas(d, e)
      break
    case 'dpopkey':
      // [dpopkey, id]: the public half of this origin's DPoP key pair, as a JWK.
      ecKey(d).then((k) => crypto.subtle.exportKey('jwk', k.publicKey)).then((jwk) => ret(e[1], 1, 0, JSON.stringify(jwk)), (x) => ret(e[1], 0, d.keep(x ?? new Error('DPoP'))))
      break
    case 'sign':
      // [sign, id, text, timeout]: an ES256 signature (base64url) of what the machine built,
      // or a failure once `timeout` ms passed (a WebCrypto or IndexedDB that never answers).
      Promise.race([
        ecKey(d).then((k) => crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, k.privateKey, encoder.encode(e[2]))),
        new Promise((resolve, reject) => setTimeout(() => reject(new DOMException('The DPoP proof was not signed in time.', 'TimeoutError')), e[3]))
      ])
        .then((sig) => ret(e[1], 1, 0, btoa(String.fromCharCode(...new Uint8Array(sig))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')), (x) => ret(e[1], 0, d.keep(x ?? new Error('DPoP'))))
      break
    case 'wipe':
      // Done by the driver already; counted for the seals still encrypting.
      d.vgen = (d.vgen ?? 0) + 1
      break
    case 'seal':
    case 'unseal':
      vault(d, e)
      break
    case 'verify': {
      // [verify, id, alg, jwk, signed text, signature]: a JWS signature (verifyTokens).
      // The machine chose the key and allows only RS/PS/ES 256/384/512.
      const bits = +e[2].slice(2)
      const hash = `SHA-${bits}`
      const p = e[2][0] === 'E'
        ? { name: 'ECDSA', namedCurve: `P-${bits === 512 ? 521 : bits}`, hash }
        : { name: e[2][0] === 'P' ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5', saltLength: bits / 8, hash }
      // Anything that throws (a signature that is not base64url, a key WebCrypto
      // refuses) is a signature that does not verify.
      Promise.resolve()
        .then(() => crypto.subtle.importKey('jwk', JSON.parse(e[3]), p, false, ['verify']))
        .then((key) => crypto.subtle.verify(p, key, Uint8Array.from(atob(e[5].replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)), encoder.encode(e[4])))
        .then((ok) => ret(e[1], ok ? 1 : 0, 0), () => ret(e[1], 0, 0))
      break
    }
  }
}

// The origin's IndexedDB database. `warm`: only if it exists already (an upgrade, which
// would create it, is aborted), so that loading this module leaves no database behind.
function openDb (warm) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open('keycloak-wasm')
    r.onupgradeneeded = () => (warm ? r.transaction.abort() : r.result.createObjectStore('kv'))
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
}

// Opening the database takes the browser 5 to 25 ms at page load, the longest wait of a
// reload that restores a kept session: it opens here, while the wasm compiles, whatever
// init() will ask for. The first instance that needs the database takes this connection.
let warm = typeof indexedDB === 'object' && typeof document === 'object' ? openDb(true).catch(() => null) : null

// One transaction (readwrite unless told) on the origin's IndexedDB store: `f(store, out)`
// queues requests and hands `out` the result; resolves with it once the transaction committed.
function idb (d, f, mode = 'readwrite') {
  if (!d.db) {
    const early = warm
    warm = null
    d.db = (early ?? Promise.resolve(null)).then((db) => db ?? openDb(false))
  }
  return d.db.then((db) => new Promise((resolve, reject) => {
    const t = db.transaction('kv', mode)
    let result
    f(t.objectStore('kv'), (v) => { result = v })
    t.oncomplete = () => resolve(result)
    t.onerror = t.onabort = () => reject(t.error)
  })).catch((x) => {
    d.db = null
    throw x ?? new Error('IndexedDB')
  })
}

// [cas, id, key, expect, next]: replaces the text under `key` with `next` if it is
// `expect` (null: absent); answers whether, and the text it found. Every tab of the
// origin sees these transactions in one order (syncTabs' lease).
function cas (d, [, id, key, expect, next]) {
  idb(d, (store, out) => {
    const get = store.get(key)
    get.onsuccess = () => {
      out(get.result ?? null)
      if ((get.result ?? null) === expect) store.put(next, key)
    }
  }).then((found) => d.answer('ret', id, found === expect ? 1 : 0, 0, found), (x) => d.answer('ret', id, 0, d.keep(x)))
}

// A key made here, not extractable, kept in IndexedDB under `name`, one per origin: read
// first (a reload does not wait for a key it will not use); made on first use, and of two
// tabs making one at once, the first kept wins.
function storedKey (d, name, algorithm, usages) {
  const read = (fresh) => idb(d, (s, out) => {
    const get = s.get(name)
    get.onsuccess = () => {
      out(get.result ?? fresh)
      if (!get.result && fresh) s.put(fresh, name)
    }
  }, fresh ? 'readwrite' : 'readonly')
  return read().then((kept) => kept ?? crypto.subtle.generateKey(algorithm, false, usages).then(read))
}

// The key under `slot` of the driver, read or made once; a failure is not kept, so the
// next use tries again (a busy or briefly failing IndexedDB does not end sealing).
function driverKey (d, slot, name, algorithm, usages) {
  return (d[slot] ??= storedKey(d, name, algorithm, usages).catch((x) => {
    d[slot] = null
    throw x
  }))
}

// dpop: the ECDSA P-256 key pair that signs the proofs.
function ecKey (d) {
  return driverKey(d, 'ec', 'dpop', { name: 'ECDSA', namedCurve: 'P-256' }, ['sign', 'verify'])
}

// persistSession: [seal, mode, name, text] and [unseal, id, mode, name] ([wipe, mode, name]
// the driver does at once, and counts here). The text is kept in session- or localStorage,
// AES-GCM-encrypted with a key made here, not extractable, kept in IndexedDB (one per origin).
// A seal writes only if no later seal or wipe came while it encrypted (`d.vgen` counts
// them): one stuck on a WebCrypto or IndexedDB that never answers holds nothing up, and one
// that finishes late neither undoes a logout nor overwrites newer tokens.
function vault (d, e) {
  const unseal = e[0] === 'unseal'
  const [mode, name, text] = e.slice(unseal ? 2 : 1)
  const store = () => (mode === 'local' ? localStorage : sessionStorage)
  const key = () => driverKey(d, 'aes', 'aes', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt'])
  const turn = unseal ? 0 : (d.vgen = (d.vgen ?? 0) + 1)
  const job = async () => {
    if (!unseal) {
      const iv = crypto.getRandomValues(new Uint8Array(12))
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await key(), encoder.encode(text)))
      if (d.vgen === turn) store().setItem(name, btoa(String.fromCharCode(...iv, ...sealed)))
      return
    }
    const kept = store().getItem(name)
    if (!kept) return d.answer('ret', e[1], 1, 0, null)
    const bytes = Uint8Array.from(atob(kept), (c) => c.charCodeAt(0))
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.subarray(0, 12) }, await key(), bytes.subarray(12))
    d.answer('ret', e[1], 1, 0, decoder.decode(plain))
  }
  // Whatever fails (no storage, no key, a text that does not decrypt) reads as nothing kept.
  // `queue`: the latest job, for tests.
  d.queue = job().catch(() => { if (unseal) d.answer('ret', e[1], 0, 0, null) })
}

