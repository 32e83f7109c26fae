#!/usr/bin/env bash
# The Python source distribution as pip installs it where no wheel fits
# (the last step of scripts/test-python.sh): `maturin sdist` into
# target/sdist, then `pip install` of that .tar.gz in a new venv — pip
# unpacks it, fetches maturin into an isolated build environment and builds
# the crates it holds in release mode, its wheel cache off — then imports
# the module and exports the bundled sample. Cargo builds into the target
# directory scripts/test-python.sh built the wheel in, so what the wheel
# build compiled is reused (a file the sdist lacks still fails the build);
# from a cold cache it is a full release compile (25 min on the 2-core
# machine under load). Needs a Rust toolchain and PyPI (maturin).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

venv=target/py-venv
if [ ! -x "$venv/bin/maturin" ]; then
  mkdir -p target
  test -x "$venv/bin/python" || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$(grep -i '^maturin' bindings-python/tests/requirements.txt)"
fi

# The host triple's target directory, which scripts/test-python.sh's wheel
# build (and the Node module's) filled: the sdist's build reuses it.
CARGO_BUILD_TARGET=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_BUILD_TARGET

step "Python binding: maturin sdist into target/sdist"
rm -rf target/sdist && mkdir -p target/sdist
"$venv/bin/maturin" sdist --manifest-path bindings-python/Cargo.toml --out target/sdist
sdist=$(ls target/sdist/lora_export-*.tar.gz)
ls -l "$sdist"

step "Python binding: pip install $sdist in a new venv (builds the crates)"
fresh=$(mktemp -d /tmp/lora-export-sdist.XXXXXX)
trap 'rm -rf "$fresh"' EXIT
python3 -m venv "$fresh/venv"
start=$(date +%s)
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" \
  "$fresh/venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "$sdist"
echo "built and installed in $(($(date +%s) - start)) s"

step "Python binding: import and export the bundled sample from the installed sdist"
sample="$PWD/data/sample.jsonl"
(cd "$fresh" && "$fresh/venv/bin/python" -W error - "$sample" <<'PY'
import sys
import warnings
import lora_export

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    summary = lora_export.export(sys.argv[1], "train.jsonl", config={"scope": "all", "format": "jsonl"})
assert [str(w.message).split(" (")[0] for w in caught] == ["4 of 50 input records were skipped"], caught
assert len(summary.skipped) == 4, summary.skipped  # the sample's 4 malformed lines
with open("train.jsonl", "rb") as f:
    assert summary.conversations > 0 and sum(1 for _ in f) == summary.conversations, summary.conversations
print(f"lora_export from the sdist: {summary.conversations} conversations, {len(summary.skipped)} skipped")
PY
)
