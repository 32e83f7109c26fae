#!/usr/bin/env bash
# Runs every test of the project (`make ci`): formatting and lints, the Rust
# unit, integration and doc tests, the Node binding, the Next.js example in
# Chromium, the main job on the bundled sample with its outputs validated,
# the CSV reader checks in Python and the Python binding. Installs what it
# needs (Python packages in a venv under target/).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# A throwaway PostgreSQL 15 cluster for the database tests, unless the caller
# points at one (LORA_EXPORT_TEST_DATABASE_URL, a superuser URL).
# A throwaway S3-compatible server (s3s-fs, built once into target/tools)
# for the object-storage tests, unless the caller points at one
# (LORA_EXPORT_TEST_S3_ENDPOINT and the rest of what scripts/s3.sh prints).
pgdir="" s3dir=""
stop_servers() {
  if [ -n "$s3dir" ]; then bash scripts/s3.sh stop "$s3dir"; fi
  if [ -n "$pgdir" ]; then bash scripts/postgres.sh stop "$pgdir"; fi
}
trap stop_servers EXIT
if [ -z "${LORA_EXPORT_TEST_DATABASE_URL:-}" ]; then
  step "start a PostgreSQL cluster"
  pgdir=$(mktemp -d /tmp/lora-export-pg.XXXXXX)
  # Assigned first: a failed start stops the run here (an `eval "$(…)"`
  # takes the status of the empty text it is given and goes on).
  pg_env=$(bash scripts/postgres.sh start "$pgdir")
  eval "$pg_env"
fi
export LORA_EXPORT_TEST_DATABASE_URL
if [ -z "${LORA_EXPORT_TEST_S3_ENDPOINT:-}" ]; then
  step "start an S3-compatible server"
  s3dir=$(mktemp -d /tmp/lora-export-s3.XXXXXX)
  s3_env=$(bash scripts/s3.sh start "$s3dir")
  eval "$s3_env"
fi

# The steps are the Makefile's targets (CI_TARGETS), so that each runs
# alone the same way (`make test-node`, …).
make --no-print-directory ci-steps

step "all tests passed"
