'use strict'
// CommonJS entry of lora-export: the native module, through the loader
// `napi build` generates (binding.js). It finds the compiled `.node` file in
// this directory (a build from source) or in this platform's package
// (`lora-export-<platform>`, an optional dependency). Where neither exists —
// a platform no package is published for, or an install that skipped it —
// the error names the platform and how to build the module from source.
const { optionalDependencies } = require('./package.json')

/** The platform as the packages name it: `linux-x64-gnu`, `darwin-arm64`, … */
function platformName() {
  const name = `${process.platform}-${process.arch}`
  if (process.platform !== 'linux') return name
  const glibc = process.report?.getReport?.().header?.glibcVersionRuntime
  return `${name}-${glibc ? 'gnu' : 'musl'}`
}

function notInstalled(cause) {
  const platform = platformName()
  const wanted = `lora-export-${platform}`
  const published = Object.keys(optionalDependencies).map((name) => name.slice('lora-export-'.length))
  const why = published.includes(platform)
    ? `its package ${wanted} is not installed (an install with --omit=optional, or from a lockfile made on another platform, skips it): reinstall lora-export on this machine`
    : `no package is published for it (published: ${published.join(', ')})`
  const error = new Error(
    `lora-export has no native module for ${platform}: ${why}. ` +
      'Or build it from source with a Rust toolchain: docs/nextjs.md, "Building from source" ' +
      '(https://github.com/lora-export/lora-export/blob/main/docs/nextjs.md#building-from-source).',
  )
  error.code = 'LORA_EXPORT_NO_NATIVE_MODULE'
  error.platform = platform
  error.cause = cause
  return error
}

try {
  module.exports = require('./binding.js')
} catch (error) {
  if (!/^(Cannot find native binding|Failed to load native binding)/.test(error?.message)) throw error
  throw notInstalled(error)
}
