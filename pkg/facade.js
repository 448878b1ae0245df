// keycloak-wasm: a drop-in replacement for keycloak-js with a Rust/WebAssembly core.
//
// The package entry (keycloak.js) is this file with the wasm-bindgen glue and the
// inlined wasm bundled in by scripts/build.mjs.
//
// This file only adapts shapes: the default-exported class with keycloak-js's own
// properties and bound methods, the NetworkError class, and a lazy start of the wasm.
// All adapter logic lives in the wasm (src/ in the repository).
import startWasm, { KeycloakCore } from './keycloak_wasm.js'
import wasmBase64 from './keycloak_wasm_bytes.js'

let started
let wasmReady = false

// The wasm ships inlined (deflate-raw, base64), so no bundler plugin, asset copy or
// server MIME type is needed. It is inflated and compiled on the first construction,
// not at import time.
function fromBase64 (text) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text)
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function wasmBytes () {
  // Response(bytes).body is the quickest stream to inflate from (measured: ~2 ms less
  // than a Blob's stream for this wasm in Chromium).
  const packed = fromBase64(wasmBase64)
  return new Response(new Response(packed).body.pipeThrough(new DecompressionStream('deflate-raw'))).arrayBuffer()
}

function loadWasm () {
  started ??= wasmBytes()
    .then((bytes) => startWasm({ module_or_path: bytes }))
    .then(() => { wasmReady = true })
  return started
}

export class NetworkError extends Error {
  response

  constructor (message, options) {
    super(message, options)
    this.response = options?.response
  }
}

const configError = "The 'Keycloak' constructor must be provided with a configuration object, or a URL to a JSON configuration file."

export default class Keycloak {
  #core
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
    if (wasmReady) {
      this.#core = new KeycloakCore(this, config, NetworkError)
    } else {
      // Start fetching/compiling early; a failure surfaces from init().
      loadWasm().catch(() => {})
    }
  }

  #ready () {
    return loadWasm().then(() => (this.#core ??= new KeycloakCore(this, this.#config, NetworkError)))
  }

  #async (method, ...args) {
    return this.#core ? this.#core[method](...args) : this.#ready().then((core) => core[method](...args))
  }

  // Before the first init() the wasm may still be loading: answer as keycloak-js does for
  // an instance that holds no token, or say plainly that init() must come first.
  #sync (method, args, beforeInit) {
    if (this.#core) return this.#core[method](...args)
    return beforeInit()
  }

  init = (initOptions) => {
    // keycloak-js marks the instance before its first await; so do we.
    // A second call still goes to the core, which rejects it with keycloak-js's error.
    this.didInitialize = true
    return this.#ready().then((core) => core.init(initOptions))
  }

  login = (options) => this.#async('login', options)
  createLoginUrl = (options) => this.#async('createLoginUrl', options)
  logout = (options) => this.#async('logout', options)
  createLogoutUrl = (options) => this.#sync('createLogoutUrl', [options], notInitialized)
  register = (options) => this.#async('register', options)
  createRegisterUrl = (options) => this.#async('createRegisterUrl', options)
  createAccountUrl = (options) => this.#sync('createAccountUrl', [options], notInitialized)
  accountManagement = () => this.#async('accountManagement')
  hasRealmRole = (role) => this.#sync('hasRealmRole', [role], () => false)
  hasResourceRole = (role, resource) => this.#sync('hasResourceRole', [role, resource], () => false)
  loadUserProfile = () => this.#async('loadUserProfile')
  loadUserInfo = () => this.#async('loadUserInfo')
  isTokenExpired = (minValidity) => this.#sync('isTokenExpired', [minValidity], () => { throw new Error('Not authenticated') })
  updateToken = (minValidity) => this.#async('updateToken', minValidity)
  clearToken = () => this.#sync('clearToken', [], () => {})
  handleCallback = (url) => this.#async('handleCallback', url)
}

function notInitialized () {
  throw new TypeError('Keycloak is not initialized: call and await init() first.')
}
