#!/usr/bin/env bash
# A 100,000-conversation export into object storage beside the same export to
# local disk and beside `COPY … TO STDOUT` of the same rows (benches/README.md),
# and the same conversations exported from an app's own tables through the
# README's views ("Your own tables": bigint chats, per-owner row-level
# security) beside `COPY` of those views as their owner: the release
# pg_probe_mimalloc (pg_probe with the allocator the Node and Python modules
# ship), alternating local, S3, COPY, views and COPY of the views for
# ROUNDS rounds (default 5), one JSON line per run and the machine's CPU
# time during it (every process, from /proc/stat: the server's share
# included), on freshly imported and then vacuumed and analyzed tables. Needs the test
# servers' environment: eval "$(bash scripts/postgres.sh start DIR)" and
# eval "$(bash scripts/s3.sh start DIR)".
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
cargo build --release --features postgres -p lora-export --example pg_probe_mimalloc --example synthetic
probe=target/release/examples/pg_probe_mimalloc
base=${LORA_EXPORT_TEST_DATABASE_URL%/*}
psql "$LORA_EXPORT_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS bench_storage" -c "CREATE DATABASE bench_storage"
db="$base/bench_storage"
work=$(mktemp -d /tmp/lora-export-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
target/release/examples/synthetic --count 100000 --format input --output "$work/in.jsonl"
DATABASE_URL=$db LORA_EXPORT_STORAGE_ROOT=$work/local $probe --import "$work/in.jsonl" >/dev/null
# The team's tables (tests/sql/team_tables.sql, as tests/pg_app_schema.rs
# creates them), filled with the same
# conversations and messages in the same order, all one owner's, and the
# README's index and views over them.
owner=$(cat /proc/sys/kernel/random/uuid)
psql "$db" -q -v ON_ERROR_STOP=1 -f tests/sql/team_tables.sql
psql "$db" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO auth.users (id, email) VALUES ('$owner', 'owner@example.com');
CREATE TEMP TABLE numbered AS
  SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM lora_export.conversations;
INSERT INTO public.chats (id, owner, title, status, created_at, updated_at) OVERRIDING SYSTEM VALUE
  SELECT n.n, '$owner', c.title, c.status, c.created_at, c.updated_at
  FROM lora_export.conversations c JOIN numbered n USING (id);
INSERT INTO public.chat_messages (chat_id, idx, role, body)
  SELECT n.n, t.turn_number, t.role, t.content
  FROM lora_export.conversation_turns t JOIN numbered n ON n.id = t.conversation_id
  ORDER BY n.n, t.turn_number;
SQL
sed -n '/^## Your own tables/,/^## /p' README.md | sed -n '/^```sql$/,/^```$/p' | sed '1d;$d' \
  | psql "$db" -q -v ON_ERROR_STOP=1
psql "$db" -qc "GRANT SELECT ON public.chats, public.chat_messages, public.training_conversations, public.training_turns TO authenticated"
views=(env LORA_EXPORT_CONVERSATIONS_TABLE=public.training_conversations
       LORA_EXPORT_TURNS_TABLE=public.training_turns)
# Settled tables, as an app's are: statistics, hint bits and the visibility
# map in place, so that autovacuum does not start in the middle of a round.
psql "$db" -qc "VACUUM ANALYZE"
# The machine's busy CPU seconds so far (user, nice, system, irq, softirq,
# steal), from the first line of /proc/stat.
busy() { awk '/^cpu /{printf "%d", $2+$3+$4+$7+$8+$9}' /proc/stat; }
hz=$(getconf CLK_TCK)
run() {
  local label=$1 before
  shift
  printf '%s ' "$label"
  before=$(busy)
  "$@"
  awk -v t="$(( $(busy) - before ))" -v hz="$hz" 'BEGIN{printf "      machine CPU %.2f s\n", t / hz}'
}
for _ in $(seq "$rounds"); do
  run 'local' env DATABASE_URL=$db LORA_EXPORT_STORAGE_ROOT=$work/local $probe
  run 's3   ' env DATABASE_URL=$db LORA_EXPORT_STORAGE_URL="s3://$LORA_EXPORT_TEST_S3_BUCKET/bench-$$" \
    AWS_ENDPOINT_URL=$LORA_EXPORT_TEST_S3_ENDPOINT AWS_ACCESS_KEY_ID=$LORA_EXPORT_TEST_S3_ACCESS_KEY \
    AWS_SECRET_ACCESS_KEY=$LORA_EXPORT_TEST_S3_SECRET_KEY AWS_ALLOW_HTTP=true $probe
  run 'copy ' env DATABASE_URL=$db $probe --copy
  run 'views' "${views[@]}" DATABASE_URL=$db LORA_EXPORT_STORAGE_ROOT=$work/local $probe --user "$owner"
  run 'vcopy' "${views[@]}" DATABASE_URL=$db $probe --copy --user "$owner"
done
