#!/usr/bin/env bash
# Runs every cargo-fuzz target for N minutes each (default 5); not part of
# CI. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); on a stable
# toolchain RUSTC_BOOTSTRAP=1 lets it pass the sanitizer flags. Crashes land
# in fuzz/artifacts/<target>/; the corpus grows in fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
minutes=${1:-5}
export RUSTC_BOOTSTRAP=1
# Seeds: the golden input and the bundled sample (one record per file, and
# for export_then_validate once per format byte), and the golden requests.
seed() {
  mkdir -p corpus/jsonl_source corpus/export_then_validate corpus/request_validation
  python3 - <<'PY'
import json, pathlib
lines = []
for path in ["../tests/golden/input.jsonl", "../data/sample.jsonl"]:
    lines += [l for l in pathlib.Path(path).read_bytes().split(b"\n") if l.strip()]
for i, line in enumerate(lines):
    pathlib.Path(f"corpus/jsonl_source/seed-{i}").write_bytes(line + b"\n")
    for choice in range(6):
        pathlib.Path(f"corpus/export_then_validate/seed-{i}-{choice}").write_bytes(bytes([choice]) + line + b"\n")
for i, case in enumerate(json.loads(pathlib.Path("../tests/golden/cases.json").read_text())["cases"]):
    request = case.get("request") or {"config": case.get("config", {})}
    pathlib.Path(f"corpus/request_validation/seed-{i}").write_text(json.dumps(request))
PY
}
seed
for target in request_validation request_shape jsonl_source export_then_validate file_key content_disposition; do
  printf '\n==> %s for %s min\n' "$target" "$minutes"
  mkdir -p "corpus/$target"
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time=$((minutes * 60)) -max_len=4096
done
