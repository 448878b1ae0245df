// A static file server for built sample apps (no dependencies): `dir`'s files, index.html
// for a path ending in '/', HTML or JavaScript content types, nothing outside `dir`.
// `/blank` answers an empty page, for setting up an origin's storage before a test.
// With `spa`, a missing path without a file extension (a client-side route such as
// `/angular/reports`) gets the index.html of its first folder (`/angular/index.html`),
// as an app's server is set up for a router that uses the History API.
import http from 'node:http'
import { readFileSync } from 'node:fs'
import path from 'node:path'

export function staticServer (dir, { spa = false } = {}) {
  const read = (rel) => {
    const file = path.join(dir, rel.endsWith('/') ? `${rel}index.html` : rel)
    if (!file.startsWith(dir)) return { status: 403 }
    try {
      return { file, body: readFileSync(file) }
    } catch {
      return { status: 404 }
    }
  }
  return http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname)
    if (rel === '/blank') { res.setHeader('content-type', 'text/html'); return res.end('<!doctype html><title>blank</title>') }
    let found = read(rel)
    if (found.status === 404 && spa && !path.basename(rel).includes('.')) found = read(`/${rel.split('/')[1]}/`)
    if (!found.body) {
      res.statusCode = found.status
      return res.end()
    }
    res.setHeader('content-type', found.file.endsWith('.html') ? 'text/html' : found.file.endsWith('.css') ? 'text/css' : 'text/javascript')
    res.end(found.body)
  })
}
