// keycloak-wasm/capacitor: a KeycloakAdapter for Capacitor apps. The login page opens in
// the system browser (@capacitor/browser); the server redirects to an app URL (a custom
// scheme or a verified https link) that @capacitor/app reports as `appUrlOpen`; that URL
// goes to keycloak.handleCallback(), which checks the state and exchanges the code.
//
// It uses only the public API of the Keycloak instance; the two plugins are optional
// peer dependencies of keycloak-wasm, needed by this entry only.
import { Browser } from '@capacitor/browser'
import { App } from '@capacitor/app'

const closedMessage = 'User closed the login window.'

// Opens `url` and settles with the first app URL that starts with `redirectUri`, or
// rejects when the user closes the browser first. Listeners are removed either way.
async function openAndWait (url, redirectUri) {
  const handles = []
  try {
    const arrived = new Promise((resolve, reject) => {
      handles.push(App.addListener('appUrlOpen', (event) => {
        if (typeof event?.url === 'string' && event.url.startsWith(redirectUri)) resolve(event.url)
      }))
      handles.push(Browser.addListener('browserFinished', () => reject(new Error(closedMessage))))
    })
    await Promise.all(handles)
    await Browser.open({ url })
    return await arrived
  } finally {
    for (const h of handles) h.then((handle) => handle.remove()).catch(() => {})
    // Already closed when the user dismissed it; some platforms reject then.
    Browser.close().catch(() => {})
  }
}

/**
 * @param {import('./keycloak').default} keycloak the instance to log in
 * @param {{ redirectUri: string }} options the app URL the server redirects back to; it
 *   must be a Valid Redirect URI of the client (and the WebView origin a Web Origin)
 */
export function capacitorAdapter (keycloak, { redirectUri } = {}) {
  if (typeof redirectUri !== 'string' || redirectUri === '') {
    throw new TypeError("capacitorAdapter needs the app's redirectUri, e.g. { redirectUri: 'com.example.app://callback' }.")
  }
  const target = (options) => options?.redirectUri || redirectUri
  const signIn = async (create, options) => {
    const to = target(options)
    const url = await create({ ...options, redirectUri: to })
    await keycloak.handleCallback(await openAndWait(url, to))
  }
  return {
    login: (options) => signIn(keycloak.createLoginUrl, options),
    register: (options) => signIn(keycloak.createRegisterUrl, options),
    // Like the Cordova adapters: the tokens go once the browser returns to the app or the
    // user closes it.
    async logout (options) {
      const to = target(options)
      try {
        await openAndWait(keycloak.createLogoutUrl({ ...options, redirectUri: to, logoutMethod: 'GET' }), to)
      } catch (e) {
        if (e?.message !== closedMessage) throw e
      }
      keycloak.clearToken()
    },
    async accountManagement () {
      await Browser.open({ url: keycloak.createAccountUrl({ redirectUri }) })
    },
    redirectUri: (options) => target(options)
  }
}

export default capacitorAdapter
