import { createRouter, createWebHistory } from 'vue-router'
import { useKeycloak } from '@josempgon/vue-keycloak'
import Home from './pages/Home.vue'
import Reports from './pages/Reports.vue'
import Forbidden from './pages/Forbidden.vue'

/** The realm role the reports page needs (the demo realm gives it to alice, not to bob). */
export const REQUIRED_ROLE = 'user'

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes: [
    { path: '/', component: Home },
    { path: '/reports', component: Reports, meta: { role: REQUIRED_ROLE } },
    { path: '/forbidden', component: Forbidden },
    { path: '/:rest(.*)*', redirect: '/' }
  ]
})

// The role guard, with the plugin's state: a visitor who is not logged in goes to the
// login page and comes back to the route; a user without the role is sent to /forbidden.
router.beforeEach(async (to) => {
  if (!to.meta.role) return true
  const { isAuthenticated, hasRoles, keycloak } = useKeycloak()
  if (!isAuthenticated.value) {
    await keycloak.value.login({ redirectUri: new URL(router.resolve(to).href, location.origin).href })
    return false
  }
  return hasRoles([to.meta.role]) || '/forbidden'
})
