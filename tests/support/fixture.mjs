// Per-suite fixture: the app on app.localhost and a realm on idp.localhost (two sites),
// with a realm file written for the app's actual port.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { APP_PATHS, startAppServer } from '../../scripts/serve/app-server.mjs'
import { demoRealm } from '../../scripts/serve/demo-realm.mjs'
import { startRealm } from '../../scripts/serve/realm.mjs'

export const IMPLS = ['keycloak-wasm', 'keycloak-js']

// `otherHosts`: more host names the app is served under (other sites, e.g.
// 'shop.localhost'), allowed as redirect URIs too: `appUrl(impl, host)`.
// `requestLog`: the realm server logs every request (--verbose), and `realmRequests()`
// returns them so far, oldest first, as "GET /realms/demo/...?query -> 200".
export async function startStack ({ tls = false, keycloakJs = null, requestLog = false, otherHosts = [] } = {}) {
  const requests = []
  let partial = ''
  const onStderr = (chunk) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop()
    for (const line of lines) if (/^[A-Z]+ \/\S* -> \d+$/.test(line)) requests.push(line)
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kw-e2e-'))
  const app = await startAppServer({ keycloakJs })
  let realm
  try {
    const file = path.join(dir, 'realm.json')
    const realmJson = demoRealm(app.baseUrl)
    for (const host of otherHosts) realmJson.clients[0].redirectUris.push(`http://${host}:${app.port}/*`)
    writeFileSync(file, JSON.stringify(realmJson))
    realm = await startRealm({ imports: [file], args: [...(tls ? ['--tls'] : []), ...(requestLog ? ['--verbose'] : [])], ...(requestLog && { onStderr }) })
  } catch (e) {
    await app.stop()
    throw e
  }
  const realmUrl = `${tls ? 'https' : 'http'}://idp.localhost:${realm.port}`
  app.setConfig({ url: realmUrl, realm: 'demo', clientId: 'demo-app' })
  return {
    realmUrl,
    realmRequests: () => [...requests],
    /** The app pages' Content-Security-Policy from now on: fn(page's HTML), or null for none. */
    setPolicy: (fn) => app.setPolicy(fn),
    appUrl: (impl, host) => {
      const base = host ? `http://${host}:${app.port}` : app.baseUrl
      return base + APP_PATHS[impl]
    },
    async stop () {
      await Promise.allSettled([app.stop(), realm.stop()])
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
