#!/usr/bin/env bash
# Builds the Python binding as the wheel users install — one abi3 wheel for
# every CPython ≥ 3.10, built once by maturin (release, stripped) into
# target/wheels, cargo's incremental build under target/ making a rebuild
# quick — installs that wheel into the venv under target/, then runs the
# pytest suite with warnings as errors: golden files, round trips (json,
# csv, pandas, polars, pyarrow, NumPy, Hugging Face datasets), the GIL,
# Ctrl-C and flat-memory tests, the stubs (mypy.stubtest), the database
# client against PostgreSQL, and the notebook-style example; then the sdist
# (scripts/test-python-sdist.sh: built and installed in a new venv, then
# imported and run). Called by
# scripts/test.sh, which exports LORA_EXPORT_TEST_DATABASE_URL; run alone, it
# starts its own throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ -z "${LORA_EXPORT_TEST_DATABASE_URL:-}" ]; then
  step "start a PostgreSQL cluster"
  pgdir=$(mktemp -d /tmp/lora-export-pg.XXXXXX)
  trap 'bash scripts/postgres.sh stop "$pgdir"' EXIT
  pg_env=$(bash scripts/postgres.sh start "$pgdir") # assigned first: a failed start stops here
  eval "$pg_env"
fi
export LORA_EXPORT_TEST_DATABASE_URL

venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  mkdir -p target
  python3 -m venv "$venv"
fi

step "Python binding: test requirements (pytest, pandas, polars, pyarrow, numpy, datasets, tqdm, mypy, maturin)"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r bindings-python/tests/requirements.txt

step "Python binding: maturin build (abi3 wheel, release, stripped) into target/wheels"
# Built for the host triple, as napi builds the Node module
# (target/<triple>/release), so that the crates both bindings build with the
# same features are compiled once; the sdist's build below does the same.
CARGO_BUILD_TARGET=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_BUILD_TARGET
wheels=target/wheels
rm -f "$wheels"/lora_export-*.whl
"$venv/bin/maturin" build --release --strip --manifest-path bindings-python/Cargo.toml --out "$wheels"
wheel=$(ls "$wheels"/lora_export-*-abi3-*.whl)

step "Python binding: pip install $wheel"
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"

step "Python binding: pytest"
"$venv/bin/python" -m pytest -q -W error -p no:cacheprovider bindings-python/tests

step "Python binding: the sdist, built and installed in a new venv"
bash scripts/test-python-sdist.sh
