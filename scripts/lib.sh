#!/usr/bin/env bash
# Shared set-up steps for scripts/run and scripts/test. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export LEPTOS_OUTPUT_NAME=mak-crm
WASM_BINDGEN_VERSION=0.2.130
PG_BIN=""

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# A target dir may be shared between checkouts (scripts/test's default is
# under ~/.cache). Cargo gives the project's own crates the same names in
# every checkout and judges them fresh by this checkout's file times, so it
# could keep another checkout's build (seen: the wasm bundle and the server
# disagreed on every server function's URL). When the last build here came
# from another checkout, this one's sources are touched: the project's crates
# rebuild from here, the dependencies stay cached.
claim_target_dir() {
  local mark="$CARGO_TARGET_DIR/.mak-crm-checkout"
  mkdir -p "$CARGO_TARGET_DIR"
  if [ "$(cat "$mark" 2>/dev/null || true)" != "$ROOT" ]; then
    [ -f "$mark" ] && log "the target dir was last built from $(cat "$mark"); rebuilding the project's crates from $ROOT"
    # The other checkout's incremental caches are of no use once the sources
    # are touched, and each checkout would add its own (seen: 38 GB, a full
    # disk mid-build).
    rm -rf "$CARGO_TARGET_DIR/debug/incremental" "$CARGO_TARGET_DIR"/front/wasm32-unknown-unknown/*/incremental
    find "$ROOT" \( -path "$ROOT/target" -o -path "$ROOT/.data" -o -path "$ROOT/.git" -o -name node_modules \) -prune \
      -o \( -name '*.rs' -o -name '*.sql' -o -name 'Cargo.toml' \) -print0 | xargs -0 touch
    echo "$ROOT" > "$mark"
  fi
}
claim_target_dir

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_rust_tools() {
  command -v cargo >/dev/null || { echo "cargo (rustup) is required" >&2; exit 1; }
  if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
    log "adding the wasm32 target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
    cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
  fi
}

ensure_postgres_packages() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  command -v psql >/dev/null || apt_install postgresql-client
}

# run_pg CMD...: runs a PostgreSQL server binary as a non-root user.
run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_cluster DIR PORT: creates (once) and starts a cluster in DIR.
# An S3-compatible server (s3s-fs: verifies SigV4 signatures) for lead files.
S3S_VERSION=0.14.1
ensure_s3s() {
  if ! command -v s3s-fs >/dev/null || ! s3s-fs --version 2>/dev/null | grep -q "$S3S_VERSION"; then
    log "installing s3s-fs $S3S_VERSION (an S3-compatible file server, a few minutes, once)"
    cargo install s3s-fs --version "$S3S_VERSION" --features binary --locked 2>/dev/null \
      || cargo install s3s-fs --version "$S3S_VERSION" --features binary
  fi
}

# start_s3 DIR PORT: serves DIR over S3 on 127.0.0.1:PORT and exports the
# S3_* settings the app reads. Stops with the calling shell's cleanup.
start_s3() {
  local dir="$1" port="$2"
  ensure_s3s
  mkdir -p "$dir"
  export S3_ENDPOINT="http://127.0.0.1:$port" S3_REGION=us-east-1 S3_BUCKET="${S3_BUCKET:-mak-crm}"
  export S3_ACCESS_KEY="${S3_ACCESS_KEY:-mak-local}" S3_SECRET_KEY="${S3_SECRET_KEY:-mak-local-secret}"
  log "starting s3s-fs on 127.0.0.1:$port ($dir)"
  s3s-fs --host 127.0.0.1 --port "$port" --access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" "$dir" \
    >"$dir.log" 2>&1 &
  S3_PID=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "s3s-fs did not start; see $dir.log" >&2
  exit 1
}

start_cluster() {
  local dir="$1" port="$2"
  ensure_postgres_packages
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "initialising a PostgreSQL cluster in $dir"
    run_pg "$PG_BIN/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! run_pg "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$port"
    run_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
      -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=${PG_FSYNC:-on}" start >/dev/null
  fi
}

stop_cluster() {
  local dir="$1"
  [ -n "$PG_BIN" ] || PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  run_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
}

# apply_sql_migrations URL: schema for compile-time checked queries, applied
# with psql (the binary that would do it is what is being compiled).
prepare_build_db() {
  local base="$1" db="mak_build"
  psql "$base/postgres" -qtAc "drop database if exists $db" >/dev/null
  psql "$base/postgres" -qtAc "create database $db" >/dev/null
  for f in "$ROOT"/migrations/*.sql; do
    psql "$base/$db" -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null
  done
  echo "$base/$db"
}

build_site() {
  local profile_flag=() profile_dir=debug
  if [ "${RELEASE:-0}" = 1 ]; then profile_flag=(--profile wasm-release); profile_dir=wasm-release; fi
  log "building the browser bundle (wasm)"
  cargo build -p frontend --lib \
    --target wasm32-unknown-unknown --target-dir "$CARGO_TARGET_DIR/front" \
    --no-default-features --features hydrate "${profile_flag[@]}"
  local site="$CARGO_TARGET_DIR/site"
  rm -rf "$site" && mkdir -p "$site/pkg"
  wasm-bindgen --target web --out-name mak-crm --out-dir "$site/pkg" \
    "$CARGO_TARGET_DIR/front/wasm32-unknown-unknown/$profile_dir/frontend.wasm"
  mv "$site/pkg/mak-crm_bg.wasm" "$site/pkg/mak-crm.wasm"
  cp "$ROOT/style/main.css" "$site/pkg/mak-crm.css"
  cp -r "$ROOT/public/." "$site/"
  export LEPTOS_SITE_ROOT="$site"
}

build_server() {
  log "building the server"
  if [ "${RELEASE:-0}" = 1 ]; then
    cargo build -p server --release
    MAK_BIN="$CARGO_TARGET_DIR/release/mak-crm"
  else
    cargo build -p server
    MAK_BIN="$CARGO_TARGET_DIR/debug/mak-crm"
  fi
  export MAK_BIN
}
