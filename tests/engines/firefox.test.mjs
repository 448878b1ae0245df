// The cross-engine flows (flows.mjs) in Firefox ESR, through geckodriver.
import { engineSuite } from './flows.mjs'

engineSuite('firefox')
