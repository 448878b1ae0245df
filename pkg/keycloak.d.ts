// Type declarations for keycloak-wasm. They use keycloak-js 26.2's type names and shapes,
// so an app that type-checks against keycloak-js type-checks against keycloak-wasm.

/** What `init()` does when nobody is logged in yet. */
export type KeycloakOnLoad = 'login-required' | 'check-sso'
/** Where the authorization server puts the callback parameters. */
export type KeycloakResponseMode = 'query' | 'fragment'
/** The `response_type` sent for each flow. */
export type KeycloakResponseType = 'code' | 'id_token token' | 'code id_token token'
/** Authorization code (`standard`), `implicit` or `hybrid` flow. */
export type KeycloakFlow = 'standard' | 'implicit' | 'hybrid'
/** PKCE challenge method, or `false` to send no challenge. */
export type KeycloakPkceMethod = 'S256' | false

/** A Keycloak server, realm and public client. */
export interface KeycloakServerConfig {
  /** Base URL of the server, e.g. `https://auth.example.com`. */
  url: string
  realm: string
  clientId: string
}

/** Any OpenID Provider, by discovery base URL or by metadata. */
export interface GenericOidcConfig {
  clientId: string
  oidcProvider: string | OpenIdProviderMetadata
}

/** The provider metadata fields the adapter uses. */
export interface OpenIdProviderMetadata {
  authorization_endpoint: string
  token_endpoint: string
  userinfo_endpoint?: string
  check_session_iframe?: string
  end_session_endpoint?: string
}

export type KeycloakConfig = KeycloakServerConfig | GenericOidcConfig

/** Requested Authentication Context Class Reference, sent as the `claims` parameter. */
export interface Acr {
  values: string[]
  essential: boolean
}

export interface KeycloakInitOptions {
  /** Send and check a nonce (default `true`). */
  useNonce?: boolean
  adapter?: 'default' | 'cordova' | 'cordova-native' | KeycloakAdapter
  onLoad?: KeycloakOnLoad
  /** Tokens from an earlier session; used when both `token` and `refreshToken` are set. */
  token?: string
  refreshToken?: string
  idToken?: string
  /** Seconds the browser clock is ahead of the server. */
  timeSkew?: number
  /** Session status iframe (default `true`). */
  checkLoginIframe?: boolean
  /** Seconds between session status checks (default 5). */
  checkLoginIframeInterval?: number
  responseMode?: KeycloakResponseMode
  /** Default redirect URI for login, logout and account. */
  redirectUri?: string
  /** A page of the app that posts its URL to the parent, for silent check-sso. */
  silentCheckSsoRedirectUri?: string
  /** Fall back to a redirect check-sso when silent check-sso cannot work (default `true`). */
  silentCheckSsoFallback?: boolean
  flow?: KeycloakFlow
  pkceMethod?: KeycloakPkceMethod
  /** Log adapter activity with a `[KEYCLOAK]` prefix (default `false`). */
  enableLogging?: boolean
  /** Scope added to every login (`openid` is always included). */
  scope?: string
  /** Milliseconds to wait for iframe messages (default 10000). */
  messageReceiveTimeout?: number
  /** `ui_locales` for the login that `onLoad` triggers. */
  locale?: string
  logoutMethod?: 'GET' | 'POST'
  /**
   * keycloak-wasm only: milliseconds the silent check-sso iframe may take before `init`
   * rejects (default: `messageReceiveTimeout`). keycloak-js waits forever.
   */
  silentCheckSsoTimeout?: number
  /**
   * keycloak-wasm only: milliseconds any HTTP request may take before it is aborted
   * (default 30000). keycloak-js waits forever.
   */
  requestTimeout?: number
  /**
   * keycloak-wasm only: check the access and ID tokens of every token response, and those
   * passed to `init`, before any property changes: the signature against the realm's keys
   * (JWKS; RS/PS/ES 256/384/512 only, never `none` or an HMAC), `iss`, the ID token's
   * `aud`/`azp`, and `exp` of tokens the realm just issued. A token that fails is rejected
   * with a clear error and the previous tokens stay. keycloak-js checks no signature.
   * Opaque access tokens of a generic OIDC provider are not checked.
   */
  verifyTokens?: boolean
  /**
   * keycloak-wasm only: refresh the tokens before the access token expires, with no app
   * code: `minValidity` seconds before (default 30; at most half the token's lifetime),
   * through the same shared refresh as `updateToken` (`onAuthRefreshSuccess` fires as for
   * it). Paused while the page is hidden and caught up when it shows again or the network
   * comes back; a 5xx, network error or timeout is retried after 2, 4, 8 … 60 s, quietly
   * while the access token still works: `onAuthRefreshError` fires once, when it has run
   * out. An `invalid_grant` clears the tokens as usual.
   * keycloak-js has no such option.
   */
  autoRefresh?: boolean | { minValidity?: number }
  /**
   * keycloak-wasm only: keep the tabs of this origin that use this client in step. One
   * tab refreshes at a time (an IndexedDB lease) and posts the new tokens to the others
   * (BroadcastChannel), which take them and fire `onAuthRefreshSuccess`; a tab that asks
   * for a refresh a sibling has just done takes the sibling's tokens instead, so with
   * refresh-token rotation no tab uses a refresh token another has spent. `logout()`,
   * `clearToken()`, a status-iframe `changed` or an `invalid_grant` in one tab end the
   * session in all (`onAuthLogout`). keycloak-js has no such option.
   */
  syncTabs?: boolean
  /**
   * keycloak-wasm only: keep the tokens for the next page load, so that a reload needs no
   * round trip through the login server. `'session'`: in sessionStorage (this tab, across
   * reloads); `'local'`: in localStorage (every tab, across browser restarts). Encrypted
   * with a non-extractable AES-GCM key kept in IndexedDB, so a copy of the storage alone
   * is worthless. On the next load `init` restores them: a live access token authenticates
   * with no request, an expired one costs one refresh. `logout`, `clearToken`, a
   * status-iframe `changed`, an `invalid_grant` and a failed verification wipe them.
   * Script running in the page (XSS) can still use the session while it runs, as it can
   * without this option. keycloak-js has no such option.
   */
  persistSession?: 'session' | 'local'
  /**
   * keycloak-wasm only (default `true`): with `onLoad: 'check-sso'`, silent check-sso and the
   * status iframe, a load that ends with a session keeps a hint (`kc-wasm-sso-<clientId>` in
   * localStorage, no token in it) so that the next load starts its silent check at once,
   * beside the third-party-cookie probe and the status iframe: two round trips fewer for a
   * returning visitor. When the session has ended meanwhile, that check is taken back: one
   * authorization request keycloak-js would not send. `false`: no hint is kept or read
   * (keycloak-js's order every time).
   */
  sessionHint?: boolean
  /**
   * keycloak-wasm only: DPoP-bound tokens (RFC 9449). A non-extractable ECDSA P-256 key
   * pair is made with WebCrypto and kept in IndexedDB (one per origin); the code exchange
   * and every refresh carry a proof, so the realm binds the tokens to the key (`cnf.jkt`,
   * checked), and userinfo and the account API are called with the `DPoP` scheme and a
   * proof with `ath`. A stolen token is useless without the key. `init` rejects where
   * WebCrypto or IndexedDB is missing (no silent downgrade). For the app's own API calls:
   * `keycloak.fetch()` and `keycloak.createDpopProof()`. keycloak-js has no such option.
   */
  dpop?: boolean
}

export interface KeycloakLoginOptions {
  scope?: string
  redirectUri?: string
  prompt?: 'none' | 'login' | 'consent'
  /** `register`, or a required action alias such as `UPDATE_PASSWORD`. */
  action?: string
  /** Seconds since the last authentication before the user must log in again. */
  maxAge?: number
  loginHint?: string
  acr?: Acr
  acrValues?: string
  /** Identity provider alias to skip the login page (`kc_idp_hint`). */
  idpHint?: string
  locale?: string
  /** Options for the Cordova InAppBrowser. */
  cordovaOptions?: { [optionName: string]: string }
}

export interface KeycloakLogoutOptions {
  redirectUri?: string
  logoutMethod?: 'GET' | 'POST'
}

export interface KeycloakRegisterOptions extends Omit<KeycloakLoginOptions, 'action'> { }

export interface KeycloakAccountOptions {
  redirectUri?: string
}

/** An OAuth error returned to the app's callback. */
export interface KeycloakError {
  error: string
  error_description: string
}

export interface KeycloakRedirectUriOptions {
  redirectUri?: string
}

/** A custom adapter (e.g. for a hybrid mobile app). */
export interface KeycloakAdapter {
  login: (options?: KeycloakLoginOptions) => Promise<void>
  logout: (options?: KeycloakLogoutOptions) => Promise<void>
  register: (options?: KeycloakRegisterOptions) => Promise<void>
  accountManagement: () => Promise<void>
  redirectUri: (options?: KeycloakRedirectUriOptions) => string
}

/** The account profile `loadUserProfile()` returns. */
export interface KeycloakProfile {
  id?: string
  username?: string
  email?: string
  firstName?: string
  lastName?: string
  enabled?: boolean
  emailVerified?: boolean
  totp?: boolean
  createdTimestamp?: number
  attributes?: Record<string, unknown>
}

/** Claims of a decoded token. */
export interface KeycloakTokenParsed {
  iss?: string
  sub?: string
  aud?: string
  exp?: number
  iat?: number
  auth_time?: number
  nonce?: string
  acr?: string
  amr?: string
  azp?: string
  session_state?: string
  realm_access?: KeycloakRoles
  resource_access?: KeycloakResourceAccess
  [key: string]: any
}

export interface KeycloakResourceAccess {
  [key: string]: KeycloakRoles
}

export interface KeycloakRoles {
  roles: string[]
}

export interface KeycloakUserInfo {
  sub: string
  [key: string]: any
}

/** @deprecated Use `Keycloak`. */
export type KeycloakInstance = Keycloak

/** Thrown when the server answers with a non-2xx status; `response` is the answer. */
export declare class NetworkError extends Error {
  response: Response
  constructor (message: string, options: ErrorOptions & { response: Response })
}

declare class Keycloak {
  constructor (config: KeycloakConfig | string)
  authenticated: boolean
  subject?: string
  responseMode: KeycloakResponseMode
  responseType: KeycloakResponseType
  flow: KeycloakFlow
  realmAccess?: KeycloakRoles
  resourceAccess?: KeycloakResourceAccess
  token?: string
  tokenParsed?: KeycloakTokenParsed
  refreshToken?: string
  refreshTokenParsed?: KeycloakTokenParsed
  idToken?: string
  idTokenParsed?: KeycloakTokenParsed
  /** Seconds the browser clock is ahead of the server; `null` until known. */
  timeSkew: number | null
  didInitialize: boolean
  loginRequired: boolean
  authServerUrl?: string
  realm?: string
  clientId?: string
  redirectUri?: string
  sessionId?: string
  profile?: KeycloakProfile
  userInfo?: KeycloakUserInfo

  onReady? (authenticated?: boolean): void
  onAuthSuccess? (): void
  onAuthError? (errorData?: KeycloakError): void
  onAuthRefreshSuccess? (): void
  onAuthRefreshError? (): void
  onAuthLogout? (): void
  onTokenExpired? (): void
  onActionUpdate? (status: 'success' | 'cancelled' | 'error', action?: string): void

  init (initOptions?: KeycloakInitOptions): Promise<boolean>
  login (options?: KeycloakLoginOptions): Promise<void>
  logout (options?: KeycloakLogoutOptions): Promise<void>
  register (options?: KeycloakRegisterOptions): Promise<void>
  accountManagement (): Promise<void>
  createLoginUrl (options?: KeycloakLoginOptions): Promise<string>
  createLogoutUrl (options?: KeycloakLogoutOptions): string
  createRegisterUrl (options?: KeycloakRegisterOptions): Promise<string>
  createAccountUrl (options?: KeycloakAccountOptions): string
  isTokenExpired (minValidity?: number): boolean
  updateToken (minValidity?: number): Promise<boolean>
  clearToken (): void
  hasRealmRole (role: string): boolean
  hasResourceRole (role: string, resource?: string): boolean
  loadUserProfile (): Promise<KeycloakProfile>
  loadUserInfo (): Promise<KeycloakUserInfo>
  /**
   * Not in keycloak-js (`dpop`): a DPoP proof (the `DPoP` header's value) for a request
   * of the app's own: `htm` = `method`, `htu` = `url` without query and fragment, `ath` of
   * the current access token, `nonce` if given. Rejects when `dpop` is off.
   */
  createDpopProof (method: string, url: string | URL, nonce?: string): Promise<string>
  /**
   * Not in keycloak-js (`dpop`): `fetch` with `Authorization: DPoP <token>` and a fresh
   * proof; a `401`/`400` that carries a `DPoP-Nonce` is tried once more with that nonce.
   */
  fetch (input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  /**
   * Not in keycloak-js: processes an OAuth callback URL that reached the app other than
   * through a page load (a system browser, a deep link, a custom adapter's window). The
   * URL's `state` must be one this instance issued (`createLoginUrl`/`createRegisterUrl`);
   * the code is exchanged with the stored PKCE verifier. Resolves to `authenticated`.
   * Rejects with `Error('Invalid OAuth state in login callback.')` otherwise.
   */
  handleCallback (url: string): Promise<boolean>
}

export default Keycloak

/** @deprecated The UMD global namespace of older keycloak-js builds. */
export as namespace Keycloak
