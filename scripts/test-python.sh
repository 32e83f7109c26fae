#!/usr/bin/env bash
# Builds the Python binding the way a user installs it
# (`pip install ./bindings-python`: maturin, release) into the venv under
# target/, then runs its pytest suite with warnings as errors: golden files,
# round trips (json, csv, pandas, Hugging Face datasets), the GIL, Ctrl-C and
# flat-memory tests, the stubs (mypy.stubtest), the database client against
# PostgreSQL, and the notebook-style example. Called by scripts/test.sh,
# which exports LORA_EXPORT_TEST_DATABASE_URL; run alone, it starts its own
# throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ -z "${LORA_EXPORT_TEST_DATABASE_URL:-}" ]; then
  step "start a PostgreSQL cluster"
  pgdir=$(mktemp -d /tmp/lora-export-pg.XXXXXX)
  trap 'bash scripts/postgres.sh stop "$pgdir"' EXIT
  eval "$(bash scripts/postgres.sh start "$pgdir")"
fi
export LORA_EXPORT_TEST_DATABASE_URL

venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  mkdir -p target
  python3 -m venv "$venv"
fi

step "Python binding: test requirements (pytest, pandas, datasets, tqdm, mypy)"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r bindings-python/tests/requirements.txt

step "Python binding: pip install ./bindings-python"
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./bindings-python

step "Python binding: pytest"
"$venv/bin/python" -m pytest -q -W error -p no:cacheprovider bindings-python/tests
