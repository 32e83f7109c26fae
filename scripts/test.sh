#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, the Rust unit,
# integration and doc tests, the Node and Python bindings, the CSV reader
# checks in Python, and the main job on the bundled sample with its outputs
# validated. Installs what it needs (Python packages in a venv under target/).
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

step "cargo fmt --check"
cargo fmt --all -- --check

# --all-targets type-checks the benches too (a `cargo bench --no-run` would
# add a six-minute optimised build of criterion to every CI run).
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "Rust tests (unit, integration, doctests), the PostgreSQL layer against the real cluster"
cargo test --workspace --all-features

bash scripts/test-node.sh

# The examples `cargo test` built (dev profile, dependencies optimised): the
# sample is small, and a separate release build would cost minutes of CI.
step "main job on the bundled sample, outputs validated"
rm -rf target/main-job && mkdir -p target/main-job
(cd target/main-job && ../debug/examples/export)
for f in target/main-job/exports/*; do
  case "$f" in *.metadata.jsonl) continue ;; esac
  target/debug/examples/validate "$f"
done

step "CSV through Python csv, pandas, polars and DuckDB"
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
LORA_EXPORT_BIN="$PWD/target/debug/examples/export" \
  "$venv/bin/python" -m pytest -q -W error tests/python

bash scripts/test-python.sh

step "all tests passed"
