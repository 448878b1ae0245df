// keycloak-wasm/authz: the types of keycloak-js/authz 26.2 (an app written against them
// type-checks against these).
import Keycloak from './keycloak.js'

export interface KeycloakAuthorizationPromise {
  then: (onGrant: (rpt: string) => void, onDeny: () => void, onError: () => void) => void
}

export interface AuthorizationRequest {
  /** Resources and scopes to ask for (entitlement). */
  permissions?: ResourcePermission[]
  /** The ticket of a resource server's `WWW-Authenticate: UMA` challenge (authorize). */
  ticket?: string
  /** Ask the resource owner for access when it is denied. */
  submitRequest?: boolean
  metadata?: AuthorizationRequestMetadata
  /** With `false`, `authorize` does not send the current RPT. */
  incrementalAuthorization?: boolean
}

export interface AuthorizationRequestMetadata {
  responseIncludeResourceName?: any
  response_permissions_limit?: number
}

export interface ResourcePermission {
  id: string
  scopes?: string[]
}

export type KeycloakAuthorizationInstance = KeycloakAuthorization

declare function KeycloakAuthorization (keycloak: Keycloak): KeycloakAuthorization

declare class KeycloakAuthorization {
  constructor (keycloak: Keycloak)
  rpt: any
  config: { rpt_endpoint: string }
  /** @deprecated Initialization happens on demand. */
  init (): void
  /** @deprecated Initialization happens on demand. */
  ready: Promise<void>
  authorize (authorizationRequest: AuthorizationRequest): KeycloakAuthorizationPromise
  entitlement (resourceServerId: string, authorizationRequest?: AuthorizationRequest): KeycloakAuthorizationPromise
}

export default KeycloakAuthorization
