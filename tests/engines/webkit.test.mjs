// The cross-engine flows (flows.mjs) in WebKitGTK's MiniBrowser, through WebKitWebDriver,
// with Intelligent Tracking Prevention on, as Safari ships it.
import { engineSuite } from './flows.mjs'

engineSuite('webkit')
