#!/usr/bin/env bash
# The Next.js example's tests (`make test-browser`): installs the package
# scripts/test-node.sh packed into target/npm as an adopter's app does
# (`npm ci`; the lockfile must stay unchanged), builds the app (`next build`
# with DATABASE_URL at a port nothing may connect to, nothing on stderr;
# `tsc --noEmit`) and runs its HTTP end-to-end test and its browser tests
# (Chromium, installed with apt-get when missing) against `next start`.
# Needs LORA_EXPORT_TEST_DATABASE_URL (a superuser URL; scripts/test.sh sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LORA_EXPORT_TEST_DATABASE_URL:?set it to a superuser URL of a PostgreSQL cluster (scripts/test.sh does)}"
export LORA_EXPORT_TEST_DATABASE_URL NEXT_TELEMETRY_DISABLED=1

step() { printf '\n==> %s\n' "$*"; }

if ! ls target/npm/lora-export-*.tgz >/dev/null 2>&1; then
  echo "no packed lora-export in target/npm: run scripts/test-node.sh (make test-node) first" >&2
  exit 1
fi

step "examples/nextjs: npm ci (the packed lora-export), next build without a database, tsc --noEmit"
(cd examples/nextjs && npm ci --no-audit --no-fund --loglevel=error && node scripts/build-offline.mjs && npx tsc --noEmit)

step "examples/nextjs: the committed lockfile is unchanged by install and build"
git diff --exit-code -- examples/nextjs/package.json examples/nextjs/package-lock.json

# Debian's Chromium for the browser tests (playwright-core drives it).
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null; then
  step "apt-get install chromium"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi
fi

step "examples/nextjs: HTTP end to end and the browser tests (Chromium) against next start and PostgreSQL"
(cd examples/nextjs && node --test test/)
