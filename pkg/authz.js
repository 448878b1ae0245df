// keycloak-wasm/authz: keycloak-js/authz's KeycloakAuthorization (UMA 2.0), with the
// requests decided by the adapter's state machine (configuration, form, token, answer).
// This file only keeps keycloak-js's shape: the instance, its `rpt`, and the then-able
// each request returns, calling onGrant(rpt), onDeny() or onError().
const CALL = Symbol.for('keycloak-wasm.call')

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
  const request = (kind, audience, authorizationRequest) => (onGrant, onDeny, onError) =>
    Promise.resolve()
      .then(() => keycloak[CALL]('uma', kind, audience, authorizationRequest ?? null, this.rpt))
      .then((r) => {
        if (typeof r === 'string') {
          this.rpt = r
          onGrant(r)
        } else if (r === false) {
          if (onDeny) onDeny()
          else console.error('Authorization request was denied by the server.')
        } else if (r === true) {
          if (onError) onError()
          else console.error('Could not obtain authorization data from server.')
        }
      }, (error) => (onError ? onError(error) : console.error(error)))
  this.authorize = function (authorizationRequest) {
    this.then = request('authorize', null, authorizationRequest)
    return this
  }
  this.entitlement = function (resourceServerId, authorizationRequest) {
    this.then = request('entitlement', resourceServerId, authorizationRequest)
    return this
  }
}
