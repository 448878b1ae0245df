import type Keycloak from './keycloak.js'
import type { KeycloakAdapter } from './keycloak.js'

export interface CapacitorAdapterOptions {
  /**
   * The app URL the server redirects back to (a custom scheme such as
   * `com.example.app://callback`, or a verified https App Link / Universal Link). It must
   * be a Valid Redirect URI of the client; the WebView origin must be a Web Origin.
   */
  redirectUri: string
}

/**
 * A `KeycloakAdapter` for Capacitor: the system browser (`@capacitor/browser`) shows the
 * login page and `@capacitor/app`'s `appUrlOpen` brings the callback back to
 * `keycloak.handleCallback()`. Pass it as `init({ adapter, checkLoginIframe: false })`.
 */
export declare function capacitorAdapter (keycloak: Keycloak, options: CapacitorAdapterOptions): KeycloakAdapter

export default capacitorAdapter
