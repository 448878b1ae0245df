// Uses keycloak-js 26.2's whole public API and every exported type name. It must
// type-check against keycloak-js's own declarations (tsconfig.keycloak-js.json) and
// against ours (tsconfig.json): an app that compiles with one compiles with the other.
import Keycloak from 'keycloak-wasm'
import KeycloakAuthorization from 'keycloak-wasm/authz'
import type { AuthorizationRequest, KeycloakAuthorizationInstance, KeycloakAuthorizationPromise, ResourcePermission } from 'keycloak-wasm/authz'
import type {
  Acr, GenericOidcConfig, KeycloakAccountOptions, KeycloakAdapter, KeycloakConfig, KeycloakError, KeycloakFlow,
  KeycloakInitOptions, KeycloakInstance, KeycloakLoginOptions, KeycloakLogoutOptions, KeycloakOnLoad, KeycloakPkceMethod,
  KeycloakProfile, KeycloakRedirectUriOptions, KeycloakRegisterOptions, KeycloakResourceAccess, KeycloakResponseMode,
  KeycloakResponseType, KeycloakRoles, KeycloakServerConfig, KeycloakTokenParsed, KeycloakUserInfo, OpenIdProviderMetadata
} from 'keycloak-wasm'

const server: KeycloakServerConfig = { url: 'https://kc.example', realm: 'demo', clientId: 'app' }
const metadata: OpenIdProviderMetadata = { authorization_endpoint: 'https://op/a', token_endpoint: 'https://op/t' }
const oidc: GenericOidcConfig = { clientId: 'app', oidcProvider: metadata }
const configs: KeycloakConfig[] = [server, oidc]
const keycloak: KeycloakInstance = new Keycloak(configs[0])
const fromUrl = new Keycloak('/keycloak.json')

const onLoad: KeycloakOnLoad = 'check-sso'
const mode: KeycloakResponseMode = 'fragment'
const flow: KeycloakFlow = 'standard'
const pkce: KeycloakPkceMethod = 'S256'
const adapter: KeycloakAdapter = {
  login: async (_o?: KeycloakLoginOptions) => {},
  logout: async (_o?: KeycloakLogoutOptions) => {},
  register: async (_o?: KeycloakRegisterOptions) => {},
  accountManagement: async () => {},
  redirectUri: (o?: KeycloakRedirectUriOptions) => o?.redirectUri ?? '/'
}
const init: KeycloakInitOptions = {
  onLoad, responseMode: mode, flow, pkceMethod: pkce, adapter, useNonce: true, checkLoginIframe: false,
  checkLoginIframeInterval: 5, silentCheckSsoRedirectUri: '/silent-check-sso.html', silentCheckSsoFallback: true,
  enableLogging: true, scope: 'email', messageReceiveTimeout: 5000, locale: 'en', logoutMethod: 'POST', timeSkew: 0,
  token: 't', refreshToken: 'r', idToken: 'i', redirectUri: '/'
}
const acr: Acr = { values: ['1'], essential: false }
const login: KeycloakLoginOptions = { scope: 'x', redirectUri: '/', prompt: 'login', action: 'UPDATE_PASSWORD', maxAge: 0, loginHint: 'a', acr, acrValues: '1', idpHint: 'gh', locale: 'en', cordovaOptions: { zoom: 'no' } }
const account: KeycloakAccountOptions = { redirectUri: '/' }

keycloak.onReady = (authenticated?: boolean) => { void authenticated }
keycloak.onAuthSuccess = () => {}
keycloak.onAuthError = (e?: KeycloakError) => { void e?.error_description }
keycloak.onAuthRefreshSuccess = () => {}
keycloak.onAuthRefreshError = () => {}
keycloak.onAuthLogout = () => {}
keycloak.onTokenExpired = () => { void keycloak.updateToken(30) }
keycloak.onActionUpdate = (status: 'success' | 'cancelled' | 'error', action?: string) => { void [status, action] }

async function main (): Promise<void> {
  const ok: boolean = await keycloak.init(init)
  await keycloak.login(login)
  await keycloak.register({ locale: 'en' })
  await keycloak.logout({ redirectUri: '/', logoutMethod: 'GET' })
  await keycloak.accountManagement()
  const urls: string[] = [await keycloak.createLoginUrl(login), await keycloak.createRegisterUrl(), keycloak.createLogoutUrl(), keycloak.createAccountUrl(account)]
  const refreshed: boolean = await keycloak.updateToken(5)
  const expired: boolean = keycloak.isTokenExpired(10)
  keycloak.clearToken()
  const roles: boolean = keycloak.hasRealmRole('user') && keycloak.hasResourceRole('viewer', 'app')
  const profile: KeycloakProfile = await keycloak.loadUserProfile()
  const info: KeycloakUserInfo = await keycloak.loadUserInfo()
  const parsed: KeycloakTokenParsed | undefined = keycloak.tokenParsed
  const access: KeycloakResourceAccess | undefined = keycloak.resourceAccess
  const realmRoles: KeycloakRoles | undefined = keycloak.realmAccess
  const type: KeycloakResponseType = keycloak.responseType
  const skew: number | null = keycloak.timeSkew
  const fields = [keycloak.authenticated, keycloak.subject, keycloak.token, keycloak.refreshToken, keycloak.refreshTokenParsed,
    keycloak.idToken, keycloak.idTokenParsed, keycloak.didInitialize, keycloak.loginRequired, keycloak.authServerUrl,
    keycloak.realm, keycloak.clientId, keycloak.redirectUri, keycloak.sessionId, keycloak.profile, keycloak.userInfo, keycloak.flow, keycloak.responseMode]
  void [ok, urls, refreshed, expired, roles, profile.username, info.sub, parsed?.realm_access, access, realmRoles, type, skew, fields, fromUrl]
}
void main

// keycloak-js/authz (keycloak-wasm/authz): an app using its whole API.
async function authz (keycloak: Keycloak): Promise<void> {
  const authorization: KeycloakAuthorizationInstance = new KeycloakAuthorization(keycloak)
  const request: AuthorizationRequest = { ticket: 't', submitRequest: true, incrementalAuthorization: false, metadata: { responseIncludeResourceName: true, response_permissions_limit: 5 } }
  const permission: ResourcePermission = { id: 'album', scopes: ['album:view'] }
  const promise: KeycloakAuthorizationPromise = authorization.authorize(request)
  promise.then((rpt: string) => { void rpt }, () => {}, () => {})
  authorization.entitlement('photoz-api', { permissions: [permission] }).then((rpt) => { void rpt }, () => {}, () => {})
  authorization.entitlement('photoz-api').then(() => {}, () => {}, () => {})
  authorization.init()
  await authorization.ready
  const endpoint: string = authorization.config?.rpt_endpoint
  const rpt: unknown = authorization.rpt
  void [endpoint, rpt]
}
void authz
