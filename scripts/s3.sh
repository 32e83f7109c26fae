#!/usr/bin/env bash
# Starts a throwaway S3-compatible server for the tests and prints the
# environment that points at it:
#   eval "$(bash scripts/s3.sh start DIR)"   ... bash scripts/s3.sh stop DIR
# The server is s3s-fs (the s3s project's file-backed S3 server: SigV4
# signatures, presigned URLs included, multipart uploads, ranged GETs),
# built once into target/tools with the locked versions of crates.io
# (0.14.1: newer ones need a newer rustc). It stores objects under DIR/data,
# listens on 127.0.0.1 on a free port, and checks an access key made up for
# this run. The bucket `exports` exists from the start (s3s-fs keeps a
# bucket as a folder of DIR/data); tests take a short prefix each: s3s-fs
# names an upload's bookkeeping file after the base64 of bucket and key,
# which must fit in 255 bytes.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?server directory}
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/target/tools/bin/s3s-fs"

case "$cmd" in
start)
  if [ ! -x "$bin" ]; then
    echo "building s3s-fs 0.14.1 into target/tools (once)" >&2
    cargo install --quiet --root "$root/target/tools" s3s-fs@0.14.1 --features binary --locked >&2
  fi
  mkdir -p "$dir/data/exports"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  key="test-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  secret="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
  "$bin" --host 127.0.0.1 --port "$port" --access-key "$key" --secret-key "$secret" "$dir/data" \
    >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 1 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null || {
    echo "s3s-fs did not start; its log:" >&2; cat "$dir/server.log" >&2; exit 1; }
  echo "export LORA_EXPORT_TEST_S3_ENDPOINT='http://127.0.0.1:$port' LORA_EXPORT_TEST_S3_ROOT='$dir/data'"
  echo "export LORA_EXPORT_TEST_S3_BUCKET='exports'"
  echo "export LORA_EXPORT_TEST_S3_ACCESS_KEY='$key' LORA_EXPORT_TEST_S3_SECRET_KEY='$secret'"
  ;;
stop)
  if [ -f "$dir/pid" ]; then
    kill "$(cat "$dir/pid")" 2>/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
