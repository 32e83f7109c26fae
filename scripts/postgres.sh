#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster for the tests and prints the
# environment that points at it:
#   eval "$(bash scripts/postgres.sh start DIR)"   ... bash scripts/postgres.sh stop DIR
# The cluster lives in DIR, listens on 127.0.0.1 on a free port, trusts
# local connections, and runs as the `postgres` user when started as root
# (initdb refuses root). Installs the server with apt-get when missing.
# TLS is on, with a throwaway CA and a server certificate for `localhost`
# (DNS name only) generated with openssl: LORA_EXPORT_TEST_SSL_ROOT_CERT is
# that CA, LORA_EXPORT_TEST_SSL_WRONG_CA an unrelated one. Plain
# connections are still accepted.
# Two PgBouncers in transaction mode (the way Supabase's Supavisor on port
# 6543 pools) sit in front of it: LORA_EXPORT_TEST_POOLER_URL refuses the
# startup parameter `options` (PgBouncer's default), and
# LORA_EXPORT_TEST_POOLER_IGNORING_URL drops it (`ignore_startup_parameters`).
# A third PgBouncer, in session mode, presents a self-signed certificate for
# `localhost` (CA:TRUE, as `openssl req -x509` makes it) to its clients and
# accepts TLS only: LORA_EXPORT_TEST_SELF_SIGNED_URL, its certificate
# LORA_EXPORT_TEST_SELF_SIGNED_CERT.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?cluster directory}

find_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

case "$cmd" in
start)
  if ! bin=$(find_bin); then
    echo "PostgreSQL server binaries not found; installing with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    bin=$(find_bin)
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir "$dir" --shell /bin/bash postgres
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if ! command -v openssl >/dev/null 2>&1; then
    echo "openssl not found; installing with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl) >&2
  fi
  tls="$dir/tls"
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lora-export test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" >/dev/null 2>&1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated CA" \
    -keyout "$tls/wrong-ca.key" -out "$tls/wrong-ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 2 -extfile "$tls/server.ext" -out "$tls/server.crt" >/dev/null 2>&1
  # A self-signed server certificate as `openssl req -x509` makes one (its
  # defaults mark it CA:TRUE), for a PgBouncer with client-side TLS.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost" \
    -keyout "$tls/self-signed.key" -out "$tls/self-signed.crt" >/dev/null 2>&1
  chmod 600 "$tls/server.key" "$tls/self-signed.key"
  [ "$(id -u)" = 0 ] && chown -R postgres "$tls"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # A failure shows its log: the stop that follows deletes DIR.
  if ! as_owner "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >'$dir/initdb.log' 2>&1"; then
    echo "initdb failed:" >&2; cat "$dir/initdb.log" >&2; exit 1
  fi
  if ! as_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c ssl=on -c ssl_cert_file='$tls/server.crt' -c ssl_key_file='$tls/server.key'\" start >&2"; then
    echo "the PostgreSQL server did not start:" >&2; cat "$dir/server.log" >&2 || true; exit 1
  fi
  echo "$port" > "$dir/port"
  if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
    echo "pgbouncer not found; installing with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer) >&2
  fi
  pgbouncer_bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
  pooler_urls=()
  for name in refusing ignoring self-signed; do
    bport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    ignore="extra_float_digits"
    [ "$name" = ignoring ] && ignore="extra_float_digits,options"
    mode=transaction
    client_tls=""
    if [ "$name" = self-signed ]; then
      mode=session
      client_tls="client_tls_sslmode = require
client_tls_cert_file = $tls/self-signed.crt
client_tls_key_file = $tls/self-signed.key"
    fi
    # The superuser, and the app's login of the Supabase-shaped test databases.
    printf '"postgres" ""\n"app_owner" ""\n' > "$dir/pgbouncer-users.txt"
    cat > "$dir/pgbouncer-$name.ini" <<INI
[databases]
* = host=127.0.0.1 port=$port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/pgbouncer-users.txt
pool_mode = $mode
ignore_startup_parameters = $ignore
$client_tls
logfile = $dir/pgbouncer-$name.log
pidfile = $dir/pgbouncer-$name.pid
INI
    [ "$(id -u)" = 0 ] && chown postgres "$dir/pgbouncer-$name.ini" "$dir/pgbouncer-users.txt"
    as_owner "'$pgbouncer_bin' -d '$dir/pgbouncer-$name.ini'"
    pooler_urls+=("postgres://postgres@127.0.0.1:$bport/postgres")
  done
  echo "export LORA_EXPORT_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:$port/postgres'"
  echo "export LORA_EXPORT_TEST_SSL_ROOT_CERT='$tls/ca.crt' LORA_EXPORT_TEST_SSL_WRONG_CA='$tls/wrong-ca.crt'"
  echo "export LORA_EXPORT_TEST_POOLER_URL='${pooler_urls[0]}' LORA_EXPORT_TEST_POOLER_IGNORING_URL='${pooler_urls[1]}'"
  echo "export LORA_EXPORT_TEST_SELF_SIGNED_URL='${pooler_urls[2]/127.0.0.1/localhost}' LORA_EXPORT_TEST_SELF_SIGNED_CERT='$tls/self-signed.crt'"
  ;;
stop)
  for pid in "$dir"/pgbouncer-*.pid; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  if bin=$(find_bin) && [ -d "$dir/data" ]; then
    as_owner "'$bin/pg_ctl' -D '$dir/data' -m fast stop >/dev/null 2>&1" || true
  fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
