#!/usr/bin/env node
// `npm run realm -- [args]`: build the Keycloak-compatible test realm server in release
// mode (quiet unless the build fails), then run it with the forwarded arguments.
// Stdio is inherited, SIGINT/SIGTERM are forwarded, and the exit code is the server's.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const binary = path.join(root, 'target', 'release', process.platform === 'win32' ? 'keycloak-realm-server.exe' : 'keycloak-realm-server')

const build = spawnSync('cargo', ['build', '--release', '--quiet', '-p', 'keycloak-realm-server'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe']
})
if (build.error || build.status !== 0) {
  process.stderr.write(build.stdout || '')
  process.stderr.write(build.stderr || '')
  if (build.error) console.error(`realm: cannot run cargo: ${build.error.message}`)
  console.error('realm: building keycloak-realm-server failed')
  process.exit(build.status || 1)
}

const child = spawn(binary, process.argv.slice(2), { cwd: root, stdio: 'inherit' })
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig)
  })
}
child.on('error', (err) => {
  console.error(`realm: cannot start ${binary}: ${err.message}`)
  process.exit(1)
})
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 9) : 1))
})
