// Per-suite fixture: the app on app.localhost and a realm on idp.localhost (two sites),
// with a realm file written for the app's actual port.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startAppServer } from '../../scripts/serve/app-server.mjs'
import { demoRealm } from '../../scripts/serve/demo-realm.mjs'
import { startRealm } from '../../scripts/serve/realm.mjs'

export const IMPLS = ['keycloak-wasm', 'keycloak-js']

export async function startStack ({ tls = false, keycloakJs = null } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kw-e2e-'))
  const app = await startAppServer({ keycloakJs })
  let realm
  try {
    const file = path.join(dir, 'realm.json')
    writeFileSync(file, JSON.stringify(demoRealm(app.baseUrl)))
    realm = await startRealm({ imports: [file], args: tls ? ['--tls'] : [] })
  } catch (e) {
    await app.stop()
    throw e
  }
  const realmUrl = `${tls ? 'https' : 'http'}://idp.localhost:${realm.port}`
  app.setConfig({ url: realmUrl, realm: 'demo', clientId: 'demo-app' })
  return {
    realmUrl,
    appUrl: (impl) => (impl === 'keycloak-js' ? `${app.baseUrl}/keycloak-js/` : `${app.baseUrl}/`),
    async stop () {
      await Promise.allSettled([app.stop(), realm.stop()])
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
