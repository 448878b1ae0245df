// The e2e files' shared set-up: one call registers node:test before/after hooks (in the
// file, or in the describe block it is called in) that start the app + realm stack and a
// browser, and close them again.
//
//   const { stack, browser } = useStack({ api: true })
//
// `stack` and `browser` can be destructured at once: they are stand-ins whose property
// reads and method calls go to the real objects once `before` made them (so use them in
// hooks and tests, not while the file loads).
//
// More set-up that needs them goes in `setup`, not in a before() of the file's own: on
// Node 20, before() hooks at a file's top level start as they are registered, together,
// so a second one would not wait for the stack.
import { after, before } from 'node:test'
import { startApiStack } from './api-helpers.mjs'
import { launchBrowser, launchProfile } from './browser.mjs'
import { startStack } from './fixture.mjs'

/**
 * @param {object} [options]
 * @param {boolean} [options.api] startApiStack (extra clients, harness page) instead of startStack
 * @param {Function} [options.realmFor] with `api`: the realm for an app origin (default apiRealm)
 * @param {boolean} [options.tls] without `api`: the realm over HTTPS (startStack's `tls`)
 * @param {boolean} [options.requestLog] without `api`: the realm's request log (startStack's `requestLog`)
 * @param {string[]} [options.otherHosts] without `api`: more app host names (startStack's `otherHosts`)
 * @param {boolean} [options.browser=true] false: no launchBrowser()
 * @param {object} [options.profile] launchProfile() options: a browser profile, as `context`
 * @param {(env: object) => any} [options.setup] more set-up, given { stack, browser, context } once they are up
 * @param {(env: object) => any} [options.teardown] its undoing, given the same, before they close
 * @returns {{ stack: object, browser?: import('playwright-core').Browser, context?: import('playwright-core').BrowserContext }}
 */
export function useStack ({ api = false, realmFor, tls = false, requestLog = false, otherHosts = [], browser = true, profile, setup, teardown } = {}) {
  if (api ? tls || requestLog || otherHosts.length : realmFor) throw new Error('useStack: realmFor needs api; tls, requestLog and otherHosts need api off')
  const real = {}
  const env = {
    stack: standIn(real, 'stack'),
    ...(browser && { browser: standIn(real, 'browser') }),
    ...(profile && { context: standIn(real, 'context') })
  }
  before(async () => {
    real.stack = api ? await startApiStack({ realmFor }) : await startStack({ tls, requestLog, otherHosts })
    if (browser) real.browser = await launchBrowser()
    if (profile) real.context = await launchProfile(profile)
    await setup?.(env)
  })
  after(async () => {
    try {
      await teardown?.(env)
    } finally {
      await Promise.allSettled([real.context?.close(), real.browser?.close()])
      await real.stack?.stop()
    }
  })
  return env
}

// Forwards to real[name] (methods bound to it); throws if it is not there (yet).
function standIn (real, name) {
  const target = () => {
    if (!real[name]) throw new Error(`useStack: ${name} is not ready (use it in a hook or test)`)
    return real[name]
  }
  return new Proxy({}, {
    get (_, key) {
      const t = target()
      const value = Reflect.get(t, key)
      return typeof value === 'function' ? value.bind(t) : value
    },
    has: (_, key) => key in target()
  })
}
