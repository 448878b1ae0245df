// The effect driver: runs what the wasm state machine asks for and feeds the outcome
// back. It knows no OAuth: every decision (which request, which timeout, whether a
// message counts, which error) is made in Rust (src/machine/). The wire format is JSON
// both ways; see src/machine/mod.rs for the list of inputs and effects.
//
// One wasm instance per Keycloak instance; the compiled module is shared.

import { instantiate } from './inflate.js'

export class NetworkError extends Error {
  response

  constructor (message, options) {
    super(message, options)
    this.response = options?.response
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

// The option properties keycloak-js reads back when it uses them (an app may assign
// them after init); they travel with every input.
const PROPS = ['redirectUri', 'scope', 'enableLogging', 'logoutMethod', 'messageReceiveTimeout', 'silentCheckSsoRedirectUri',
  'silentCheckSsoFallback', 'responseMode', 'responseType', 'pkceMethod', 'loginRequired', 'timeSkew']

export class Driver {
  // `more`: the effects of keycloak-wasm's additions (pkg/extras.js), with the module
  // built with them; absent with the module built without.
  constructor (module, kc, config, more) {
    this.x = instantiate(module)
    this.more = more
    this.kc = kc
    this.h = new Map() // JS values the machine refers to by number
    this.n = 0 // last handle
    this.frames = new Map()
    this.ops = new Map() // op -> settle(ok, value)
    this.op = 0
    this.depth = 0
    this.at = -1 // the deadline the timer is armed for
    this.send('new', config)
  }

  keep (value) {
    this.h.set(++this.n, value)
    return this.n
  }

  /** An app call; `sync` methods settle before this returns. */
  call (method, sync, ...args) {
    const op = ++this.op
    let done
    const p = sync ? null : new Promise((resolve, reject) => this.ops.set(op, (ok, v) => (ok ? resolve : reject)(v)))
    if (sync) this.ops.set(op, (ok, v) => { done = [ok, v] })
    this.send('call', op, method, ...args)
    if (!sync) return p
    this.ops.delete(op)
    if (!done) throw new Error('keycloak-wasm: a synchronous call did not settle')
    if (done[0]) return done[1]
    throw done[1]
  }

  /** One input to the machine, then its effects, in order. */
  send (kind, ...args) {
    const kc = this.kc
    const props = {}
    for (const k of PROPS) props[k] = kc[k]
    props.onTokenExpired = !!kc.onTokenExpired
    props.hidden = globalThis.document?.hidden
    const text = JSON.stringify([kind, Date.now(), globalThis.location?.href ?? '', props, ...args])
    const x = this.x
    const max = text.length * 3
    const ptr = x.kw_input(max)
    const { written } = encoder.encodeInto(text, new Uint8Array(x.memory.buffer, ptr, max))
    const crypto = globalThis.crypto
    // keycloak-js needs crypto.randomUUID (a secure context); without it there is no entropy.
    const rand = crypto?.randomUUID ? 1 : 0
    if (rand) crypto.getRandomValues(new Uint8Array(x.memory.buffer, x.kw_rand(), 128))
    const len = x.kw_step(written, rand)
    const effects = JSON.parse(decoder.decode(new Uint8Array(x.memory.buffer, x.kw_out(), len)))
    const nums = new Float64Array(x.memory.buffer, x.kw_nums(), x.kw_numc()).slice()
    // What the batch answers at once (storage, plugins, app callbacks) goes in after the
    // whole batch ran: the machine never hears of an effect's outcome before the effects
    // it emitted after it are carried out.
    const outer = this.batch
    const batch = (this.batch = [])
    this.depth++
    try {
      for (const e of effects) this.run(e, nums)
    } finally {
      this.batch = outer
      try {
        for (const a of batch) this.send(...a)
      } finally {
        if (--this.depth === 0) this.arm()
      }
    }
  }

  /** An answer to an effect: after the running batch, or now when none runs. */
  answer (...a) {
    if (this.batch) this.batch.push(a)
    else this.send(...a)
  }

  /** One timer for every slot of the machine: armed for its earliest deadline. */
  arm () {
    const at = this.x.kw_deadline()
    if (at === this.at) return
    clearTimeout(this.t)
    this.at = at
    if (at >= 0) {
      this.t = setTimeout(() => {
        this.at = -1
        this.send('tick')
      }, Math.min(Math.max(at - Date.now(), 0), 2147483647))
    }
  }

  run (e, nums) {
    const kc = this.kc
    const v = (x) => this.val(x, nums)
    const ret = (id, ok, h, text) => this.answer('ret', id, ok, h, text)
    try {
      switch (e[0]) {
        case 'set':
          for (let i = 1; i < e.length; i += 2) {
            if (Array.isArray(e[i + 1]) && e[i + 1][0] === 3) delete kc[e[i]]
            else kc[e[i]] = v(e[i + 1])
          }
          break
        case 'emit': {
          // An event callback by name, or a function held for the machine (a timer's).
          const f = typeof e[2] === 'number' ? this.h.get(e[2]) : kc[e[2]]
          let err = 0
          if (f != null) {
            try {
              f.apply(e[3] ? kc : undefined, e.slice(4).map(v))
            } catch (x) {
              err = this.keep(x)
            }
          }
          this.answer('resume', e[1], err)
          break
        }
        case 'settle': {
          const settle = this.ops.get(e[1])
          this.ops.delete(e[1])
          settle?.(e[2], v(e[3]))
          break
        }
        case 'fetch':
          this.fetch(e)
          break
        case 'nav':
          if (e[2] === 'href') location.href = e[3]
          else location[e[2]](e[3])
          break
        case 'hist':
          history.replaceState(history.state, '', e[2])
          break
        case 'form': {
          const form = document.createElement('form')
          form.setAttribute('method', 'POST')
          form.setAttribute('action', e[2])
          form.style.display = 'none'
          for (const [name, value] of e[3]) {
            const input = document.createElement('input')
            input.setAttribute('type', 'hidden')
            input.setAttribute('name', name)
            input.setAttribute('value', value)
            form.appendChild(input)
          }
          document.body.appendChild(form)
          form.submit()
          break
        }
        case 'frame': {
          const frame = document.createElement('iframe')
          for (const [k, value] of e[3]) frame.setAttribute(k, value)
          frame.style.display = 'none'
          // Before the append: a page that loads at once fires `load` during it.
          frame.addEventListener('load', () => this.send('load', e[2]), { once: true })
          this.listen()
          this.frames.set(e[2], frame)
          document.body.appendChild(frame)
          break
        }
        case 'unframe':
          this.frames.get(e[1])?.remove()
          this.frames.delete(e[1])
          break
        case 'post':
          this.frames.get(e[2])?.contentWindow?.postMessage(e[3], e[4])
          break
        case 'log':
          console[e[1]](e.slice(2).map(v).join(''))
          break
        case 'call': {
          // [call, task, id, handle, method, args, wait]: a custom adapter's method.
          const target = this.h.get(e[3])
          let r
          try {
            if (typeof target?.[e[4]] !== 'function') {
              ret(e[2], 0, 0)
              break
            }
            r = target[e[4]](...e[5].map(v))
          } catch (x) {
            ret(e[2], 0, this.keep(x))
            break
          }
          if (e[6]) Promise.resolve(r).then((value) => ret(e[2], 1, value === undefined ? 0 : this.keep(value)), (x) => ret(e[2], 0, this.keep(x)))
          else ret(e[2], 1, 0, String(r))
          break
        }
        case 'has':
          ret(e[1], e[2].split('|').some((name) => name in globalThis), 0)
          break
        case 'put': {
          // [put, id, prefix, state, record, expires]: keycloak-js's callback storage.
          const store = this.store()
          const key = e[2] + e[3]
          try {
            if (store) {
              this.purge(store, e[2])
              const value = `${e[4].slice(0, -1)},"expires":${e[5]}}`
              try {
                store.setItem(key, value)
              } catch (x) {
                // Full: every callback entry goes, then one more try.
                for (const k of Object.keys(store)) if (k.startsWith(e[2])) store.removeItem(k)
                store.setItem(key, value)
              }
            } else {
              document.cookie = `${key}=${e[4]}; expires=${new Date(e[5]).toUTCString()}; `
            }
            ret(e[1], 1, 0)
          } catch (x) {
            ret(e[1], 0, this.keep(x))
          }
          break
        }
        case 'take': {
          // [take, id, prefix, state]: the record, read once.
          let value = null
          const store = this.store()
          const key = e[2] + e[3]
          if (!e[3]) {
            // no state, no record
          } else if (store) {
            this.purge(store, e[2])
            value = store.getItem(key)
            if (value) store.removeItem(key)
          } else {
            for (const c of document.cookie.split(';')) {
              const piece = c.trimStart()
              if (piece.startsWith(key + '=')) {
                value = piece.slice(key.length + 1)
                break
              }
            }
            document.cookie = `${key}=; expires=${new Date(Date.now() - 6e6).toUTCString()}; `
          }
          ret(e[1], 1, 0, value || null)
          break
        }
        case 'memo':
          this.h.set(e[1], v(e[2]))
          break
        case 'drop':
          this.h.delete(e[1])
          break
        case 'report': {
          const x = this.h.get(e[1])
          setTimeout(() => { throw x })
          break
        }
        case 'extras':
          // [extras, bound, message]: the machine refused a call for want of keycloak-wasm's
          // additions; the facade loads them within `bound` ms, or fails with `message`.
          this.refused = [e[1], e[2]]
          break
        case 'wipe':
          // [wipe, mode, name]: what persistSession kept goes (logout, cleared session), at
          // once; the additions, when loaded, count it (a seal still encrypting then writes nothing).
          try {
            (e[1] === 'local' ? localStorage : sessionStorage).removeItem(e[2])
          } catch (x) {}
        // falls through
        default:
          // The effects of keycloak-wasm's additions (pkg/extras.js), when loaded.
          this.more?.(this, e, ret)
      }
    } catch (x) {
      // An effect that threw (a bad URL, no document body...): its task fails with it.
      if (typeof e[1] === 'number' && e[1] > 0 && ['nav', 'hist', 'form', 'frame', 'post', 'call', 'win', 'tab'].includes(e[0])) this.answer('fail', e[1], this.keep(x))
      else throw x
    }
  }

  /** A value the machine wrote (see Machine::value and the tags there). */
  val (x, nums) {
    if (!Array.isArray(x)) return x
    switch (x[0]) {
      case 0: return undefined
      case 1: return this.h.get(x[1])
      case 2: {
        const o = {}
        for (let i = 1; i < x.length; i++) o[x[i][0]] = this.val(x[i][1], nums)
        return o
      }
      case 4: return JSON.parse(x[1])
      case 5: return x.length > 2 ? this.kc[x[1]]?.[x[2]] : this.kc[x[1]]
      case 6: return nums[x[1]]
      case 7: return () => x[1]
      case 8: return () => { throw this.val(x[1], nums) }
      case 9: return x.length > 3 ? new Error(x[2], { cause: new Error(x[3]) }) : new (x[1] ? TypeError : Error)(x[2])
      case 10: return new NetworkError(x[1], { response: this.h.get(x[2]) })
    }
  }

  /** localStorage when a test write works, else null (the callback state goes to cookies). */
  store () {
    if (this.ls === undefined) {
      try {
        localStorage.setItem('kc-test', 'test')
        localStorage.removeItem('kc-test')
        this.ls = localStorage
      } catch (x) {
        this.ls = null
      }
    }
    return this.ls
  }

  /** Removes callback entries whose `expires` is missing, not a number, or past. */
  purge (store, prefix) {
    for (const k of Object.keys(store)) {
      if (!k.startsWith(prefix)) continue
      let expires
      try {
        expires = JSON.parse(store.getItem(k)).expires
      } catch (x) {}
      if (typeof expires !== 'number' || expires < Date.now()) store.removeItem(k)
    }
  }

  fetch ([, id, url, method, body, headers, credentials, timeout]) {
    const init = { method, headers: Object.fromEntries(headers), signal: AbortSignal.timeout(timeout) }
    if (body !== null) init.body = body
    if (credentials) init.credentials = 'include'
    fetch(url, init).then(async (response) => {
      // DPoP-Nonce (dpop): a server's nonce for the next proofs, or the one it asks for.
      const nonce = response.headers.get('DPoP-Nonce')
      if (!response.ok) return this.send('http', id, response.status, null, this.keep(response), nonce)
      const text = await response.text()
      const value = JSON.parse(text)
      this.send('http', id, response.status, text, this.keep(value), nonce)
    }).catch((x) => this.send('http', id, 0, null, this.keep(x)))
  }

  /** Messages from our frames' windows go to the machine (which decides what counts). */
  listen () {
    if (this.listening) return
    this.listening = true
    addEventListener('message', (event) => {
      for (const [id, frame] of this.frames) {
        if (frame.contentWindow === event.source) {
          return this.send('msg', id, event.origin, typeof event.data === 'string' ? event.data : null)
        }
      }
    })
  }
}
