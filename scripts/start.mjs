// `npm start`: installs what is missing, builds the package and the realm server, then
// runs the realm server (idp.localhost) and the demo app (app.localhost) on two sites and
// prints where to go. Ctrl-C stops both.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setup } from './setup.mjs'
import { build } from './build.mjs'
import { startAppServer } from './serve/app-server.mjs'
import { ensureRealmBuilt, startRealm } from './serve/realm.mjs'
import { demoRealm } from './serve/demo-realm.mjs'
import { step } from './lib.mjs'

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  if (i < 0) return dflt
  const port = Number(process.argv[i + 1])
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`npm start: ${name} needs a port number (1-65535)`)
    process.exit(2)
  }
  return port
}
const appPort = arg('--app-port', 3000)
const realmPort = arg('--realm-port', 8080)

try {
  setup()
  await build({ quiet: true })
  step('Building the realm server')
  await ensureRealmBuilt()
} catch (e) {
  console.error(`npm start: ${e.message}`)
  process.exit(1)
}

// The realm server's built-in demo realm allows redirects to app port 3000; for another
// port, import the same realm with that port's redirect URIs.
let realmDir = null
const imports = []
if (appPort !== 3000) {
  realmDir = mkdtempSync(path.join(os.tmpdir(), 'kw-start-'))
  const realmFile = path.join(realmDir, 'demo-realm.json')
  const realmJson = demoRealm(`http://app.localhost:${appPort}`)
  realmJson.clients[0].redirectUris.push(`http://localhost:${appPort}/*`)
  writeFileSync(realmFile, JSON.stringify(realmJson, null, 2))
  imports.push(realmFile)
}
const removeRealmDir = () => realmDir && rmSync(realmDir, { recursive: true, force: true })

let realm, app
try {
  realm = await startRealm({ port: realmPort, imports })
  app = await startAppServer({ port: appPort, config: { url: `http://idp.localhost:${realm.port}`, realm: 'demo', clientId: 'demo-app' } })
} catch (e) {
  await realm?.stop()
  removeRealmDir()
  console.error(`npm start: ${e.code === 'EADDRINUSE' ? `port ${appPort} is in use (try --app-port N)` : e.message}`)
  process.exit(1)
}
const realmUrl = `http://idp.localhost:${realm.port}`

console.log(`
keycloak-wasm demo is running (Ctrl-C stops it)

  Demo app (keycloak-wasm)      ${app.baseUrl}/
  Same app with keycloak-js     ${app.baseUrl}/keycloak-js/
  Realm server                  ${realmUrl}/realms/demo
    OIDC discovery              ${realmUrl}/realms/demo/.well-known/openid-configuration
    Account page                ${realmUrl}/realms/demo/account

  Log in as alice / alice (realm role "user", client role "viewer" of demo-app)
         or bob / bob (no roles).
  Tick "onLoad: 'login-required'" in the demo to try that init mode on the next load.

  Admin: the realm server has no admin console; the realm lives in memory and is read at
  start from ${imports.length ? imports[0] : 'tests/realm-server/realms/demo-realm.json'}.
  Run your own with: npm run realm -- --port ${realm.port} --import FILE
`)

let stopping = false
async function stop () {
  if (stopping) return
  stopping = true
  await Promise.allSettled([app.stop(), realm.stop()])
  removeRealmDir()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
// startRealm unrefs its child; keep this process alive until a signal arrives.
setInterval(() => {}, 1 << 30)
