// The demo app's static server (no dependencies). `/` serves www/ against keycloak-wasm,
// `/full/` against keycloak-wasm/full, `/keycloak-js/` against keycloak-js: only the
// injected import map differs.
// Listens on loopback only (127.0.0.1 and ::1, so app.localhost reaches it).
import http from 'node:http'
import { readFile, stat } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const www = path.join(root, 'www')
const mounts = [
  ['/pkg/', path.join(root, 'pkg')],
  ['/vendor/keycloak-js/', path.join(root, 'node_modules/keycloak-js/lib')]
]
const IMPLS = {
  'keycloak-wasm': '/pkg/keycloak.js',
  'keycloak-wasm/full': '/pkg/keycloak.full.js',
  'keycloak-js': '/vendor/keycloak-js/keycloak.js'
}
/** Where the app runs against each package. */
export const APP_PATHS = { 'keycloak-wasm': '/', 'keycloak-wasm/full': '/full/', 'keycloak-js': '/keycloak-js/' }
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.map': 'application/json' }

// The file for a URL path, or null if it would fall outside the directory it maps to.
function resolveFile (pathname) {
  let [dir, rest] = [www, pathname]
  for (const [prefix, mounted] of mounts) {
    if (pathname.startsWith(prefix)) { [dir, rest] = [mounted, pathname.slice(prefix.length)]; break }
  }
  const file = path.join(dir, rest)
  return file.startsWith(dir + path.sep) ? file : null
}

// JSON that is safe inside an inline <script> (no `</script>` or `<!--` can end it early).
const inlineJson = (value) => JSON.stringify(value).replace(/</g, '\\u003c')

function appPage (html, impl, config) {
  // modulepreload: the adapter downloads beside app.js, as the chunk a bundler's build
  // preloads would (no waterfall through the import map); the same for either adapter.
  const head = `<script type="importmap">${inlineJson({ imports: { 'keycloak-wasm': IMPLS[impl] } })}</script>\n` +
    `<link rel="modulepreload" href="${IMPLS[impl]}">\n` +
    `<script>window.__KC_IMPL__ = ${inlineJson(impl)}; window.__KC_CONFIG__ = ${inlineJson(config)}</script>`
  return html.replace('<!-- keycloak-wasm:head -->', head)
}

function listen (server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve(server.address().port) })
  })
}

/**
 * Starts the demo's static server on 127.0.0.1 and ::1 (same port).
 * `host` only names the server in `baseUrl`: the default `app.localhost` keeps the app on
 * another site than the realm (`idp.localhost`), as in a real deployment.
 * @returns {Promise<{ baseUrl: string, port: number, setConfig: (cfg: object) => void, setPolicy: (fn: ((html: string) => string) | null) => void, stop: () => Promise<void> }>}
 */
export async function startAppServer ({ port = 0, host = 'app.localhost', config = {}, keycloakJs = null } = {}) {
  let current = { ...config }
  // setPolicy(fn): the app pages' Content-Security-Policy header, fn(page's HTML) (tests).
  let policy = null
  // As a production host does: gzip (-9, cached per file version) to clients that accept it.
  const packed = new Map()
  async function send (req, res, file, type) {
    const body = await readFile(file)
    const headers = { 'Content-Type': type, Vary: 'Accept-Encoding' }
    if (!/\bgzip\b/.test(req.headers['accept-encoding'] ?? '') || body.length < 1024) { res.writeHead(200, headers).end(body); return }
    const { mtimeMs, size } = await stat(file)
    const key = `${file} ${mtimeMs} ${size}`
    if (!packed.has(key)) packed.set(key, gzipSync(body, { level: 9 }))
    res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip' }).end(packed.get(key))
  }
  const handler = async (req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    try {
      const { pathname } = new URL(req.url, 'http://x')
      const decoded = decodeURIComponent(pathname)
      if (decoded.includes('..') || decoded.includes('\0')) { res.writeHead(400).end(); return }
      const [impl, prefix] = Object.entries(APP_PATHS).find(([, p]) => p !== '/' && decoded.startsWith(p)) ?? ['keycloak-wasm', '/']
      const rel = decoded.slice(prefix.length - 1)
      if (rel === '/' || rel === '/index.html') {
        const html = await readFile(path.join(www, 'index.html'), 'utf8')
        const page = appPage(html, impl, current)
        res.writeHead(200, { 'Content-Type': TYPES['.html'], ...(policy && { 'Content-Security-Policy': policy(page) }) }).end(page)
        return
      }
      // `keycloakJs`: another build of keycloak-js to serve (the benchmark's minified bundle).
      const file = keycloakJs && rel === IMPLS['keycloak-js'] ? keycloakJs : resolveFile(rel)
      if (!file) throw new Error('outside the served directories')
      await send(req, res, file, TYPES[path.extname(file)] ?? 'application/octet-stream')
    } catch {
      if (!res.headersSent) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found')
    }
  }
  const v4 = http.createServer(handler)
  const actual = await listen(v4, port, '127.0.0.1')
  const v6 = http.createServer(handler)
  await listen(v6, actual, '::1').catch(() => null)
  const baseUrl = `http://${host}:${actual}`
  return {
    baseUrl,
    port: actual,
    setConfig (cfg) { current = { ...cfg } },
    setPolicy (fn) { policy = fn },
    stop: () => Promise.all([v4, v6].map((s) => new Promise((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))))
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt }
  const app = await startAppServer({
    port: Number(arg('--port', 3000)),
    config: { url: arg('--realm-url', 'http://idp.localhost:8080'), realm: arg('--realm', 'demo'), clientId: arg('--client-id', 'demo-app') }
  })
  console.log(`listening on ${app.baseUrl}`)
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => app.stop().then(() => process.exit(0)))
}
