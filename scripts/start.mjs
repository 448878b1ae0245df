// `npm start`: installs what is missing, builds the package and the realm server, then
// runs the realm server (idp.localhost) and the demo app (app.localhost) on two sites and
// prints where to go. Ctrl-C stops both.
import { setup } from './setup.mjs'
import { build } from './build.mjs'
import { startAppServer } from '../tests/support/app-server.mjs'
import { ensureRealmBuilt, startRealm } from '../tests/support/realm.mjs'
import { step } from './lib.mjs'

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const appPort = arg('--app-port', 3000)
const realmPort = arg('--realm-port', 8080)

try {
  setup()
  build({ quiet: true })
  step('Building the realm server')
  await ensureRealmBuilt()
} catch (e) {
  console.error(`npm start: ${e.message}`)
  process.exit(1)
}

const realm = await startRealm({ port: realmPort })
const realmUrl = `http://idp.localhost:${realm.port}`
const app = await startAppServer({ port: appPort, config: { url: realmUrl, realm: 'demo', clientId: 'demo-app' } })

console.log(`
keycloak-wasm demo is running (Ctrl-C stops it)

  Demo app (keycloak-wasm)      ${app.baseUrl}/
  Same app with keycloak-js     ${app.baseUrl}/keycloak-js/
  Realm server                  ${realmUrl}/realms/demo/.well-known/openid-configuration

  Log in as alice / alice (realm role "user", client role "viewer" of demo-app)
         or bob / bob (no roles).
  The demo realm allows redirects to http://app.localhost:3000/* and http://localhost:3000/*;
  with --app-port, pass a realm file of your own (npm run realm -- --import FILE).
`)

let stopping = false
async function stop () {
  if (stopping) return
  stopping = true
  await Promise.allSettled([app.stop(), realm.stop()])
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
// startRealm unrefs its child; keep this process alive until a signal arrives.
setInterval(() => {}, 1 << 30)
