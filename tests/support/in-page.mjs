// Functions that run inside a page of the demo app, shared by the Playwright suites
// (page.evaluate(fn, arg)) and the WebDriver ones (engines.mjs's evaluate). Each takes one
// argument, refers to nothing outside itself and returns a promise.

/** Loads the realm's third-party-cookie probe (`src`, step1.html) in an iframe: 'supported', 'unsupported' or 'timeout'. */
export function probeThirdPartyCookies (src) {
  return new Promise((resolve) => {
    const frame = document.createElement('iframe')
    frame.src = src
    addEventListener('message', (e) => { if (e.source === frame.contentWindow) resolve(e.data) })
    document.body.append(frame)
    setTimeout(() => resolve('timeout'), 5000)
  })
}

/**
 * Asks the realm's session status page what it answers for `sid` ("unchanged", "changed"
 * or "error"), through an iframe of our own, so the answer does not depend on either adapter.
 */
export async function askStatusIframe ([realmUrl, clientId, sid]) {
  const frame = document.createElement('iframe')
  frame.style.display = 'none'
  frame.src = `${realmUrl}/realms/demo/protocol/openid-connect/login-status-iframe.html`
  await new Promise((resolve) => { frame.onload = resolve; document.body.append(frame) })
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the status iframe did not answer')), 3000)
      window.addEventListener('message', function onMessage (event) {
        if (event.source !== frame.contentWindow) return
        window.removeEventListener('message', onMessage)
        clearTimeout(timer)
        resolve(event.data)
      })
      frame.contentWindow.postMessage(`${clientId} ${sid}`, new URL(realmUrl).origin)
    })
  } finally {
    frame.remove()
  }
}
