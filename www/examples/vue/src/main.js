// @josempgon/vue-keycloak creates the instance with `new Keycloak()` from 'keycloak-js',
// which npm resolves to keycloak-wasm (see www/examples/README.md), and runs init() before the
// router starts, as its README advises.
import { createApp } from 'vue'
import { useKeycloak, vueKeycloak } from '@josempgon/vue-keycloak'
import App from './App.vue'
import { router } from './router.js'

// The e2e tests point the example at their realm through sessionStorage.
const config = JSON.parse(sessionStorage.getItem('sample.config') ?? 'null') ??
  { url: 'http://localhost:8080', realm: 'demo', clientId: 'demo-app' }

const app = createApp(App)
await vueKeycloak.install(app, { config, initOptions: { onLoad: 'check-sso', pkceMethod: 'S256' } })
// The tests look at the instance the plugin made.
window.keycloak = useKeycloak().keycloak.value
app.use(router)
app.mount('#app')
