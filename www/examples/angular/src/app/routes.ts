import { inject } from '@angular/core'
import { CanActivateFn, Router, Routes } from '@angular/router'
import { createAuthGuard } from 'keycloak-angular'
import { Forbidden, Home } from './pages'
import { Reports } from './reports'

/** The realm role the reports page needs (the demo realm gives it to alice, not to bob). */
export const REQUIRED_ROLE = 'user'

// keycloak-angular's guard factory: a visitor who is not logged in goes to the login page
// and comes back to the route; a user without the role is sent to /forbidden.
const canSeeReports = createAuthGuard<CanActivateFn>(async (_route, state, { authenticated, keycloak, grantedRoles }) => {
  const router = inject(Router)
  if (!authenticated) {
    await keycloak.login({ redirectUri: new URL(state.url.slice(1), document.baseURI).href })
    return false
  }
  return grantedRoles.realmRoles.includes(REQUIRED_ROLE) || router.parseUrl('/forbidden')
})

export const routes: Routes = [
  { path: '', component: Home },
  { path: 'reports', component: Reports, canActivate: [canSeeReports] },
  { path: 'forbidden', component: Forbidden },
  { path: '**', redirectTo: '' }
]
