#!/usr/bin/env bash
# Runs every cargo-fuzz target for N minutes each (default 5); not part of
# CI. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); on a stable
# toolchain RUSTC_BOOTSTRAP=1 lets it pass the sanitizer flags. Crashes land
# in fuzz/artifacts/<target>/; the corpus grows in fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
minutes=${1:-5}
export RUSTC_BOOTSTRAP=1
for target in request_validation jsonl_source export_then_validate file_key content_disposition; do
  printf '\n==> %s for %s min\n' "$target" "$minutes"
  mkdir -p "corpus/$target"
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time=$((minutes * 60)) -max_len=4096
done
