// keycloak-angular's own setup: provideKeycloak creates the instance (with `new Keycloak()`
// from 'keycloak-js', which npm resolves to keycloak-wasm: see www/examples/README.md) and runs
// init() before the app starts; the bearer interceptor adds the token to the requests
// that go to the realm.
import { ApplicationConfig, provideZonelessChangeDetection } from '@angular/core'
import { provideHttpClient, withInterceptors } from '@angular/common/http'
import { provideRouter } from '@angular/router'
import {
  INCLUDE_BEARER_TOKEN_INTERCEPTOR_CONFIG,
  IncludeBearerTokenCondition,
  createInterceptorCondition,
  includeBearerTokenInterceptor,
  provideKeycloak
} from 'keycloak-angular'
import { routes } from './routes'

// The e2e tests point the example at their realm through sessionStorage.
const config: { url: string, realm: string, clientId: string } =
  JSON.parse(sessionStorage.getItem('sample.config') ?? 'null') ??
  { url: 'http://localhost:8080', realm: 'demo', clientId: 'demo-app' }

/** The API the reports page calls with the user's token: the realm's userinfo endpoint. */
export const API_URL = `${config.url}/realms/${config.realm}/protocol/openid-connect/userinfo`

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

export const appConfig: ApplicationConfig = {
  providers: [
    provideZonelessChangeDetection(),
    provideKeycloak({
      config,
      initOptions: { onLoad: 'check-sso', checkLoginIframe: false, pkceMethod: 'S256' }
    }),
    {
      provide: INCLUDE_BEARER_TOKEN_INTERCEPTOR_CONFIG,
      useValue: [createInterceptorCondition<IncludeBearerTokenCondition>({ urlPattern: new RegExp(`^${escapeRegExp(config.url)}/`) })]
    },
    provideHttpClient(withInterceptors([includeBearerTokenInterceptor])),
    provideRouter(routes)
  ]
}
