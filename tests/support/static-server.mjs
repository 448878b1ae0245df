// A static file server for built sample apps (no dependencies): `dir`'s files, index.html
// for a path ending in '/', HTML or JavaScript content types, nothing outside `dir`.
// `/blank` answers an empty page, for setting up an origin's storage before a test.
import http from 'node:http'
import { readFileSync } from 'node:fs'
import path from 'node:path'

export function staticServer (dir) {
  return http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname)
    if (rel === '/blank') { res.setHeader('content-type', 'text/html'); return res.end('<!doctype html><title>blank</title>') }
    const file = path.join(dir, rel.endsWith('/') ? `${rel}index.html` : rel)
    if (!file.startsWith(dir)) { res.statusCode = 403; return res.end() }
    try {
      const body = readFileSync(file)
      res.setHeader('content-type', file.endsWith('.html') ? 'text/html' : 'text/javascript')
      res.end(body)
    } catch {
      res.statusCode = 404
      res.end()
    }
  })
}
