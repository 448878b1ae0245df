// keycloak-wasm: a drop-in replacement for keycloak-js with a Rust/WebAssembly core.
//
// The package's entries (pkg/index.js: keycloak.js, and pkg/full.js: keycloak-wasm/full)
// are this file with the driver and an inlined wasm, bundled by scripts/build.mjs. This
// file only gives the class keycloak-js's shape:
// its own data properties and bound methods, NetworkError, and a lazy start of the wasm.
// The adapter's logic is the state machine in the wasm (src/machine/ in the repository);
// pkg/driver.js carries out what it asks for.
import { Driver, NetworkError } from './driver.js'
import { compile } from './inflate.js'

export { NetworkError }

// [wasm (deflate-raw, base64), more]: the machine instances start on, and the effects of
// keycloak-wasm's additions when it has them. The entry sets it (see `start`).
let base
let loading
let module
let full

/** The entry's machine: without the additions (pkg/index.js), or with them and their effects (pkg/full.js). */
export function start (wasm, more) {
  base = [wasm, more]
}

// The machine without keycloak-wasm's additions is inflated and compiled on the first
// construction, not at import time.
//
// On a server (SSR: Next.js, Nuxt, Angular, a plain Node render) there is no document:
// importing and constructing start nothing there, and init() and the other calls that need
// the adapter reject with this error. keycloak-js 26.2 constructs too, and its init()
// rejects with "window is not defined".
function loadWasm () {
  if (typeof document > 'u') return Promise.reject(Error('Keycloak is not initialized on the server: call init() in the browser.'))
  return (loading ??= compile(base[0]).then((m) => { module = m }))
}

// The machine with the additions and their effects (pkg/extras.js): a chunk of its own,
// loaded once, when init() asks for an addition (or runs in Cordova). The machine that
// refused bounds the wait (`requestTimeout`) and gives the error past it; a load still under
// way then goes on for the next instance.
function loadFull ([bound, message]) {
  if (typeof document > 'u') return loadWasm()
  full ??= import('./keycloak.extras.js').then((x) => compile(x.wasm).then((m) => [m, x.more])).catch((x) => {
    full = null
    throw x
  })
  let timer
  return Promise.race([full, new Promise((resolve, reject) => { timer = setTimeout(() => reject(Error(message)), bound) })]).finally(() => clearTimeout(timer))
}

const configError = "The 'Keycloak' constructor must be provided with a configuration object, or a URL to a JSON configuration file."

export default class Keycloak {
  #driver
  #config
  didInitialize = false
  authenticated = false
  loginRequired = false
  responseMode = 'fragment'
  responseType = 'code'
  flow = 'standard'
  timeSkew = null
  redirectUri
  silentCheckSsoRedirectUri
  silentCheckSsoFallback = true
  pkceMethod = 'S256'
  enableLogging = false
  logoutMethod = 'GET'
  scope
  messageReceiveTimeout = 10000
  idToken
  idTokenParsed
  token
  tokenParsed
  refreshToken
  refreshTokenParsed
  clientId
  sessionId
  subject
  authServerUrl
  realm
  realmAccess
  resourceAccess
  profile
  userInfo
  endpoints
  tokenTimeoutHandle
  onAuthSuccess
  onAuthError
  onAuthRefreshSuccess
  onAuthRefreshError
  onTokenExpired
  onAuthLogout
  onReady
  onActionUpdate

  constructor (config) {
    const isObject = typeof config === 'object' && config !== null
    if (typeof config !== 'string' && !isObject) {
      throw new Error(configError)
    }
    if (isObject) {
      for (const key of ('oidcProvider' in config ? ['clientId'] : ['url', 'realm', 'clientId'])) {
        if (!(key in config)) {
          throw new Error(`The configuration object is missing the required '${key}' property.`)
        }
      }
    }
    this.#config = config
    if (module) {
      // A browser may compile the module yet refuse an instance of it (WebKit under a
      // Content-Security-Policy): then init() reports it, as it does a failed compile.
      try {
        this.#driver = new Driver(module, this, config, base[1])
      } catch (x) {}
    } else {
      // Start inflating and compiling early (not on a server); a failure surfaces from init().
      loadWasm().catch(() => {})
    }
  }

  #ready () {
    return loadWasm().then(() => (this.#driver ??= new Driver(module, this, this.#config, base[1])))
  }

  #async (method, ...args) {
    return this.#driver ? this.#driver.call(method, false, ...args) : this.#ready().then((d) => d.call(method, false, ...args))
  }

  // Before the first init() the wasm may still be loading: answer as keycloak-js does for
  // an instance that holds no token, or say plainly that init() must come first.
  #sync (method, arg, beforeInit) {
    return this.#driver ? this.#driver.call(method, true, arg) : beforeInit()
  }

  init = (initOptions) => {
    // keycloak-js marks the instance before its first await; so do we. A second call
    // still goes to the machine, which rejects it with keycloak-js's error.
    this.didInitialize = true
    const go = (d) => {
      // A custom adapter object stays in JavaScript; the machine gets a handle to it.
      const adapter = initOptions?.adapter
      const options = typeof adapter === 'object' && adapter !== null ? { ...initOptions, adapter: { $h: d.keep(adapter) } } : initOptions
      return d.call('init', false, options)
    }
    // The machine decides which options need the additions: the one without them refuses
    // them before it does anything, and the instance starts again on the one with them.
    return this.#ready().then((d) => go((d.refused = false) || d).catch((x) => {
      if (d.more || !d.refused) throw x
      return loadFull(d.refused).then(([m, more]) => go((this.#driver = new Driver(m, this, this.#config, more))))
    }))
  }

  login = (options) => this.#async('login', options)
  createLoginUrl = (options) => this.#async('createLoginUrl', options)
  logout = (options) => this.#async('logout', options)
  createLogoutUrl = (options) => this.#sync('createLogoutUrl', options, notInitialized)
  register = (options) => this.#async('register', options)
  createRegisterUrl = (options) => this.#async('createRegisterUrl', options)
  createAccountUrl = (options) => this.#sync('createAccountUrl', options, notInitialized)
  accountManagement = () => this.#async('accountManagement')
  loadUserProfile = () => this.#async('loadUserProfile')
  loadUserInfo = () => this.#async('loadUserInfo')
  isTokenExpired = (minValidity) => this.#sync('isTokenExpired', minValidity, () => { throw new Error('Not authenticated') })
  updateToken = (minValidity) => this.#async('updateToken', minValidity)
  clearToken = () => this.#sync('clearToken', undefined, () => {})
  handleCallback = (url) => this.#async('handleCallback', url)

  // The door keycloak-wasm/authz (and other entries of ours) call the machine through.
  // (The semicolon keeps the line above from reading `…)[Symbol.for(…)] = …`.)
  ;[Symbol.for('keycloak-wasm.call')] = (method, ...args) => this.#async(method, ...args)

  // keycloak-wasm only (`dpop`): a DPoP proof for the app's own request, and a fetch that
  // sends the bound access token with one, again once with the server's nonce if it asks.
  createDpopProof = (method, url, nonce) => this.#async('createDpopProof', method, String(url), nonce)

  // The machine decides the Authorization scheme and whether to send again.
  fetch = async (input, init) => {
    const request = new Request(input, init)
    const send = async (nonce) => {
      const r = request.clone()
      const headers = new Headers(r.headers)
      headers.set('DPoP', await this.createDpopProof(r.method, r.url, nonce))
      const authorization = this.#driver.call('dpopAuthorization', true)
      if (authorization) headers.set('Authorization', authorization)
      return globalThis.fetch(new Request(r, { headers }))
    }
    const response = await send()
    const nonce = this.#driver.call('dpopRetry', true, response.status, response.headers.get('DPoP-Nonce'))
    return nonce ? send(nonce) : response
  }

  // Role checks read the public properties, as keycloak-js does (an app's changes count).
  hasRealmRole = (role) => !!this.realmAccess && this.realmAccess.roles.indexOf(role) >= 0

  hasResourceRole = (role, resource) => {
    const all = this.resourceAccess
    if (!all) return false
    const access = all[resource || this.clientId]
    return !!access && access.roles.indexOf(role) >= 0
  }
}

function notInitialized () {
  throw new TypeError('Keycloak is not initialized: call and await init() first.')
}
