#!/usr/bin/env bash
# The Node binding's tests (`make test-node`): builds the native module once
# (release, with @napi-rs/cli), packs the package into target/npm (what
# scripts/test-browser.sh installs in the Next.js example), runs the
# node:test suite over it (golden files, API, the client against PostgreSQL,
# event-loop lag during a 100,000-conversation export, lora-export/next's
# handlers and the attacks on them), type-checks a typed usage file against
# the generated index.d.ts, then prints the transform timings.
# Needs LORA_EXPORT_TEST_DATABASE_URL (a superuser URL; scripts/test.sh sets
# it) and installs the npm packages it needs into bindings-node/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LORA_EXPORT_TEST_DATABASE_URL:?set it to a superuser URL of a PostgreSQL cluster (scripts/test.sh does)}"
export LORA_EXPORT_TEST_DATABASE_URL NEXT_TELEMETRY_DISABLED=1

step() { printf '\n==> %s\n' "$*"; }

step "bindings-node: npm install (versions pinned by package-lock.json)"
(cd bindings-node && npm install --no-audit --no-fund --loglevel=error)

step "bindings-node: build the native module (release) with @napi-rs/cli"
(cd bindings-node && npx napi build --platform --release)

step "bindings-node: the committed index.js and index.d.ts are what napi generates"
git diff --exit-code -- bindings-node/index.js bindings-node/index.d.ts

# The example installs the package as an adopter's app does: a packed
# tarball (copied into node_modules, so `next build`'s tracing and Turbopack
# see a plain package). Its lockfile entry has no integrity, so `npm ci`
# installs the tarball just built and never rewrites the lockfile.
step "bindings-node: npm pack into target/npm"
mkdir -p target/npm
(cd bindings-node && npm pack --silent --pack-destination ../target/npm >/dev/null)

step "bindings-node: node:test over the built module"
(cd bindings-node && node --test test/)

step "bindings-node: tsc --noEmit of a typed usage file (ESM and CommonJS) against index.d.ts"
(cd bindings-node && npx tsc -p test/types)

step "transform of 10,000 conversations vs JSON.stringify (measured, not asserted)"
(cd bindings-node && node bench/transform.mjs 10000)
