// keycloak-wasm/authz: keycloak-js/authz's KeycloakAuthorization (UMA 2.0). Its requests
// are decided by a small state machine of its own (src/authz.rs in the repository), not
// by the adapter's: an app that never imports this entry does not download it. Like
// keycloak-js's, it knows the Keycloak instance by its public properties only, so it works
// with either of the package's modules and when imported after init().
//
// The machine's wasm is a chunk (keycloak.authz.js) loaded when the first instance is made,
// beside the app's start. This file keeps keycloak-js's shape (the instance, its `rpt`,
// the then-able each request returns, calling onGrant(rpt), onDeny() or onError()) and
// carries out the machine's fetches.
import { compile, instantiate } from './inflate.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
let loading
// One machine for the page, shared by every instance: it keeps each realm's UMA
// configuration. Requests are numbered; each waits for its outcome by number.
let x
let last = 0
const waiting = new Map() // request id -> [resolve(outcome), reject, the instance]

// The chunk holds the wasm deflated, as base64 (as the package's entries do). A load that
// fails, or does not end within 30 s (the machine's own bound on each request: it cannot
// say so before it is loaded), fails the requests waiting for it and is tried again by the
// next. On a server (SSR: no document), as the facade does, nothing starts: a request
// there fails with this error.
function load () {
  if (typeof document > 'u') return Promise.reject(Error('KeycloakAuthorization makes its requests in the browser, not on the server.'))
  let timer
  return (loading ??= Promise.race([
    import('./keycloak.authz.js').then((x) => compile(x.default)),
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(Error('keycloak-wasm/authz: its module (keycloak.authz.js) did not load within 30 s.')), 30000) })
  ]).finally(() => clearTimeout(timer)).catch((error) => {
    loading = null
    throw error
  }))
}

// A machine that broke (a trap) fails every request it had, and the next gets a new one.
function broke (error) {
  x = null
  for (const [, reject] of waiting.values()) reject(error)
  waiting.clear()
}

function step (input) {
  const text = typeof input === 'string' ? input : JSON.stringify(input)
  const max = text.length * 3
  const ptr = x.kw_input(max)
  const { written } = encoder.encodeInto(text, new Uint8Array(x.memory.buffer, ptr, max))
  const len = x.kw_step(written)
  for (const e of JSON.parse(decoder.decode(new Uint8Array(x.memory.buffer, x.kw_out(), len)))) {
    if (e[0] === 'fetch') send(e)
    else if (e[0] === 'config') {
      // keycloak-js's `config`: the realm's UMA configuration, once it loaded.
      const instance = waiting.get(e[1])?.[2]
      if (instance) instance.config ??= JSON.parse(e[2])
    } else {
      waiting.get(e[1])?.[0](e)
      waiting.delete(e[1])
    }
  }
}

function send ([, id, url, body, headers, timeout]) {
  const init = { method: body === null ? 'GET' : 'POST', headers: Object.fromEntries(headers), signal: AbortSignal.timeout(timeout) }
  if (body !== null) init.body = body
  // No response, or a body that did not arrive: status 0.
  fetch(url, init)
    .then(async (response) => [response.status, response.ok ? await response.text() : null])
    .catch(() => [0, null])
    .then(([status, text]) => step(['http', id, status, text])).catch(broke)
}

export default function KeycloakAuthorization (keycloak, options) {
  // keycloak-js's function throws when called without `new` (in a module); ours makes one.
  if (!new.target) return new KeycloakAuthorization(keycloak, options)
  this.rpt = null
  Object.defineProperty(this, 'ready', {
    get () {
      console.warn("The 'ready' property is deprecated and will be removed in a future version. Initialization now happens automatically, using this property is no longer required.")
      return Promise.resolve()
    }
  })
  this.init = () => {
    console.warn("The 'init()' method is deprecated and will be removed in a future version. Initialization now happens automatically, calling this method is no longer required.")
  }
  load().catch(() => {})

  const request = (kind, audience, authorizationRequest) => (onGrant, onDeny, onError) =>
    load().then((module) => new Promise((resolve, reject) => {
      const id = ++last
      // (A request that JSON cannot carry, such as a cyclic one, fails alone, here.)
      const input = JSON.stringify(['ask', id, kind, audience, authorizationRequest ?? null, this.rpt, !!keycloak.didInitialize,
        keycloak.authServerUrl ?? null, keycloak.realm ?? null, keycloak.clientId ?? null, keycloak.token ?? null])
      waiting.set(id, [resolve, reject, this])
      try {
        x ??= instantiate(module)
        step(input)
      } catch (error) {
        broke(error)
      }
    })).then(([, , what, value, cause]) => {
      if (what === 'error') throw Error(value, cause ? { cause: Error(cause) } : undefined)
      return [what, value]
    }).then(([what, value]) => {
      if (what === 'rpt') {
        this.rpt = value
        onGrant(value)
      } else if (what === 'deny') {
        if (onDeny) onDeny()
        else console.error('Authorization request was denied by the server.')
      } else if (what === 'fail') {
        if (onError) onError()
        else console.error('Could not obtain authorization data from server.')
      }
    }, (error) => (onError ? onError(error) : console.error(error)))
  this.authorize = function (authorizationRequest) {
    this.then = request('authorize', null, authorizationRequest)
    return this
  }
  this.entitlement = function (resourceServerId, authorizationRequest) {
    this.then = request('entitlement', String(resourceServerId), authorizationRequest)
    return this
  }
}
