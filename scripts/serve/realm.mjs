// Start and stop the Keycloak-compatible test realm server from end-to-end tests
// (Node 20, no dependencies).
//
//   import { ensureRealmBuilt, startRealm } from '../support/realm.mjs'
//   await ensureRealmBuilt()
//   const realm = await startRealm()            // demo realm on a free port
//   realm.baseUrl                               // 'http://localhost:<port>'
//   await realm.stop()
//
// `env` adds environment variables for the server, e.g. its master-realm admin:
//   startRealm({ env: { KC_BOOTSTRAP_ADMIN_USERNAME: 'admin', KC_BOOTSTRAP_ADMIN_PASSWORD: 'pw' } })
//
// The server is the release build at <repo>/target/release/keycloak-realm-server. It is
// started with --watch-stdin, so it also exits if this Node process dies. Set
// REALM_SERVER_LOG=1 to see its stderr (add args: ['--verbose'] for a request log), or
// pass `onStderr` to be handed each chunk of it.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const binary = path.join(root, 'target', 'release', process.platform === 'win32' ? 'keycloak-realm-server.exe' : 'keycloak-realm-server')
const STARTUP_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 5_000
const STDERR_KEEP = 64 * 1024

let building = null

/** Runs `cargo build --release -p keycloak-realm-server` once per process. */
export async function ensureRealmBuilt () {
  if (!building) {
    building = new Promise((resolve, reject) => {
      const cargo = spawn('cargo', ['build', '--release', '--quiet', '-p', 'keycloak-realm-server'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let output = ''
      cargo.stdout.on('data', (d) => { output += d })
      cargo.stderr.on('data', (d) => { output += d })
      cargo.on('error', (err) => reject(new Error(`cannot run cargo: ${err.message}`)))
      cargo.on('close', (code) => {
        if (code === 0) resolve()
        else reject(new Error(`building keycloak-realm-server failed (exit ${code}):\n${output}`))
      })
    })
    building.catch(() => { building = null })
  }
  return building
}

/**
 * Spawns the realm server and resolves once it prints `listening on <base url>`.
 * @param {{ port?: number, imports?: string[], args?: string[], env?: Record<string, string>, onStderr?: (chunk: string) => void }} [options]
 * @returns {Promise<{ baseUrl: string, port: number, process: import('node:child_process').ChildProcess, stop: () => Promise<void> }>}
 */
export async function startRealm ({ port = 0, imports = [], args = [], env = {}, onStderr } = {}) {
  const argv = ['--port', String(port), '--watch-stdin']
  for (const file of imports) argv.push('--import', path.resolve(file))
  argv.push(...args)

  const child = spawn(binary, argv, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d) => {
    if (process.env.REALM_SERVER_LOG) process.stderr.write(d)
    onStderr?.(d)
    stderr = (stderr + d).slice(-STDERR_KEEP)
  })
  // Keep the lifeline pipe open but never let it keep Node alive on its own.
  child.stdin.on('error', () => {})
  for (const s of [child.stdin, child.stdout, child.stderr]) s.unref?.()
  child.unref()

  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })

  let stopping = null
  const stop = () => {
    if (!stopping) {
      stopping = (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
        await exited
        clearTimeout(timer)
      })()
    }
    return stopping
  }

  const baseUrl = await new Promise((resolve, reject) => {
    let buffered = ''
    let done = false
    const finish = (fn, value) => {
      if (done) return
      done = true
      clearTimeout(timer)
      fn(value)
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      finish(reject, new Error(`realm server did not start within ${STARTUP_TIMEOUT_MS / 1000} s; stderr:\n${stderr}`))
    }, STARTUP_TIMEOUT_MS)
    child.on('error', (err) => {
      const hint = err.code === 'ENOENT' ? ' (build it first: await ensureRealmBuilt() or npm run realm -- --help)' : ''
      finish(reject, new Error(`cannot start ${binary}: ${err.message}${hint}`))
    })
    child.once('exit', (code, signal) => {
      finish(reject, new Error(`realm server exited before listening (${signal ?? `code ${code}`}); stderr:\n${stderr}`))
    })
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d) => {
      if (done) return
      buffered += d
      const m = /^listening on (https?:\/\/localhost:(\d+))\r?$/m.exec(buffered)
      if (m) finish(resolve, m[1])
    })
  })

  return { baseUrl, port: Number(new URL(baseUrl).port), process: child, stop }
}
