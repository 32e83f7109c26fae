// ESM entry of lora-export/next (the CommonJS next.js, with named exports).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export const { exportRoutes } = require('./next.js')
