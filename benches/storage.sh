#!/usr/bin/env bash
# A 100,000-conversation export into object storage beside the same export to
# local disk and beside `COPY … TO STDOUT` of the same rows (benches/README.md):
# the release pg_probe, alternating local, S3 and COPY for ROUNDS rounds
# (default 5), one JSON line per run, on freshly imported and then
# vacuumed and analyzed tables. Needs the test
# servers' environment: eval "$(bash scripts/postgres.sh start DIR)" and
# eval "$(bash scripts/s3.sh start DIR)".
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
cargo build --release --features postgres -p lora-export --example pg_probe --example synthetic
base=${LORA_EXPORT_TEST_DATABASE_URL%/*}
psql "$LORA_EXPORT_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS bench_storage" -c "CREATE DATABASE bench_storage"
db="$base/bench_storage"
work=$(mktemp -d /tmp/lora-export-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
target/release/examples/synthetic --count 100000 --format input --output "$work/in.jsonl"
DATABASE_URL=$db LORA_EXPORT_STORAGE_ROOT=$work/local target/release/examples/pg_probe --import "$work/in.jsonl" >/dev/null
# Settled tables, as an app's are: statistics, hint bits and the visibility
# map in place, so that autovacuum does not start in the middle of a round.
psql "$db" -qc "VACUUM ANALYZE"
for _ in $(seq "$rounds"); do
  printf 'local '
  DATABASE_URL=$db LORA_EXPORT_STORAGE_ROOT=$work/local target/release/examples/pg_probe
  printf 's3    '
  DATABASE_URL=$db LORA_EXPORT_STORAGE_URL="s3://$LORA_EXPORT_TEST_S3_BUCKET/bench-$$" \
    AWS_ENDPOINT_URL=$LORA_EXPORT_TEST_S3_ENDPOINT AWS_ACCESS_KEY_ID=$LORA_EXPORT_TEST_S3_ACCESS_KEY \
    AWS_SECRET_ACCESS_KEY=$LORA_EXPORT_TEST_S3_SECRET_KEY AWS_ALLOW_HTTP=true \
    target/release/examples/pg_probe
  printf 'copy  '
  DATABASE_URL=$db target/release/examples/pg_probe --copy
done
