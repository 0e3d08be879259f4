#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: the round store's tests run on SQLite and on a real
# PostgreSQL (tests/store/conftest.py starts and stops one with this script).
#
#   bash scripts/postgres.sh start [--owner PID]
#       Installs Debian's postgresql package if its server binaries are missing, starts a fresh
#       server on 127.0.0.1 at a free port and prints one line, its SQLAlchemy URL:
#         postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
#       With --owner PID the server is also stopped once process PID has ended (a pytest killed
#       before it could stop it). Each call starts a server of its own.
#   bash scripts/postgres.sh stop URL|DIR|DIR/state
#       Stops that server (pg_ctl stop -m fast) and deletes its directory. Stopping a server that
#       is already gone is fine.
#   bash scripts/postgres.sh install
#       Only the install step.
#
# A server lives in its own /tmp/agrade-pg.XXXXXXXX/ (data/, the unix socket, server.log, state),
# owned by the postgres system user: PostgreSQL refuses to run as root. It trusts every local and
# 127.0.0.1 connection, so it listens on 127.0.0.1 only, and it is for tests only (fsync off).
# Messages go to stderr; stdout carries only the URL.
set -euo pipefail

SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
PREFIX=/tmp/agrade-pg.

say() { echo "agrade postgres: $*" >&2; }
die() { say "$*"; exit 1; }

# The newest installed server's binaries: Debian keeps them in /usr/lib/postgresql/N/bin, off PATH.
find_bin() {
  local d found=""
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then found="$d"; fi
  done
  echo "$found"
}

# Run a PostgreSQL program as the postgres user when we are root (from /, which it can read).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

install_server() {
  [ -z "$(find_bin)" ] || return 0
  [ "$(id -u)" = 0 ] || die "PostgreSQL's server is not installed, and installing it needs root (apt-get install postgresql)"
  say "installing Debian's postgresql package"
  # Debian's package would create and start a default cluster on port 5432, listening on
  # localhost (::1 too) and left running: the tests start their own servers, so ask for none.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/agrade.conf
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 postgresql >/dev/null
  [ -n "$(find_bin)" ] || die "installed postgresql, but found no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
}

# Is something accepting connections on 127.0.0.1:$1?
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A value from a server's state file.
state_get() { sed -n "s/^$2=//p" "$1/state"; }

# The server being started (globals: the EXIT trap reads them after start has returned or died).
dir=""
ok=0

start() {
  local owner="" bin port="" url attempt started=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --owner) owner="${2:?--owner needs a process id}"; shift 2 ;;
      *) die "start: unknown argument $1" ;;
    esac
  done
  install_server
  bin="$(find_bin)"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "there is no postgres system user to run the server as (Debian's postgresql package creates it)"
  fi

  dir="$(mktemp -d "${PREFIX}XXXXXXXX")"
  # Whatever goes wrong from here on, leave no server and no directory behind.
  trap '[ "$ok" = 1 ] || stop_dir "$dir"' EXIT
  [ "$(id -u)" != 0 ] || chown postgres:postgres "$dir"
  printf 'BIN=%s\n' "$bin" >"$dir/state"

  if ! as_pg "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --auth=trust --no-sync \
      >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  fi
  cat >>"$dir/data/postgresql.conf" <<EOF

# agrade's throwaway test server (scripts/postgres.sh): 127.0.0.1 only, speed over durability.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
ssl = off
EOF
  # Trust, but only on the unix socket (in the private directory) and 127.0.0.1.
  cat >"$dir/data/pg_hba.conf" <<EOF
local all all trust
host  all all 127.0.0.1/32 trust
EOF

  # A free port: a random one below Linux's ephemeral range (32768-60999, which outgoing
  # connections take), not in use now; if another process binds it before the server does,
  # the server fails to start and we try another.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 12000))
    port_taken "$port" && continue
    : >"$dir/server.log"
    [ "$(id -u)" != 0 ] || chown postgres:postgres "$dir/server.log"
    if as_pg "$bin/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/server.log" -o "-p $port" >/dev/null 2>&1; then
      started=1
      break
    fi
    if ! grep -qiE 'could not bind|could not create any TCP/IP sockets|address already in use' "$dir/server.log"; then
      tail -n 20 "$dir/server.log" >&2
      die "the server did not start"
    fi
  done
  [ "$started" = 1 ] || die "found no free port in 10 attempts"
  printf 'PORT=%s\n' "$port" >>"$dir/state"

  # pg_ctl -w waits for "ready"; make sure TCP on 127.0.0.1 answers too.
  as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 || die "the server does not accept connections on 127.0.0.1:$port"

  if [ -n "$owner" ]; then
    # Detached (own session, no inherited stdout: whoever reads our stdout must see EOF).
    setsid bash "$SELF" _watch "$owner" "$dir" </dev/null >/dev/null 2>&1 &
    printf 'WATCH=%s\n' "$!" >>"$dir/state"
  fi

  url="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  printf 'URL=%s\n' "$url" >>"$dir/state"
  ok=1
  say "started on 127.0.0.1:$port (in $dir); stop it with: bash scripts/postgres.sh stop $url"
  echo "$url"
}

# Stop the server in $1 and delete $1. Only ever a directory this script made.
stop_dir() {
  local dir="$1" bin watch
  [ -d "$dir" ] || return 0
  case "$dir" in "$PREFIX"*) ;; *) die "refusing to delete $dir: not a directory of this script" ;; esac
  bin="$(state_get "$dir" BIN 2>/dev/null || true)"
  if [ -f "$dir/data/postmaster.pid" ] && [ -n "$bin" ]; then
    as_pg "$bin/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >/dev/null 2>&1 ||
      as_pg "$bin/pg_ctl" stop -D "$dir/data" -m immediate -w -t 30 >/dev/null 2>&1 || true
    if as_pg "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
      die "the server in $dir would not stop; left it in place"
    fi
  fi
  watch="$(state_get "$dir" WATCH 2>/dev/null || true)"
  if [ -n "$watch" ] && [ "$watch" != "$$" ]; then kill "$watch" 2>/dev/null || true; fi
  rm -rf "$dir"
  say "stopped and deleted $dir"
}

stop() {
  local target="${1:?stop needs the server URL, its directory or its state file}" port s found=0
  case "$target" in
    */state) target="$(dirname "$target")" ;;
  esac
  if [ -d "$target" ]; then
    stop_dir "$(cd "$target" && pwd)"
    return
  fi
  [[ "$target" =~ :([0-9]+)(/|$) ]] || die "stop: $target is neither a URL with a port nor a server directory"
  port="${BASH_REMATCH[1]}"
  for s in "$PREFIX"*/state; do
    [ -f "$s" ] || continue
    if [ "$(state_get "$(dirname "$s")" PORT)" = "$port" ]; then
      stop_dir "$(dirname "$s")"
      found=1
    fi
  done
  [ "$found" = 1 ] || say "no server of ours on port $port (already stopped)"
}

# Stop the server in $2 once process $1 has ended (or return once the server is gone).
watch() {
  local owner="$1" dir="$2"
  while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
  stop_dir "$dir"
}

main() {
  case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    install) install_server ;;
    _watch) shift; watch "$@" ;;
    *) die "usage: bash scripts/postgres.sh start [--owner PID] | stop URL|DIR | install" ;;
  esac
}
# One line, read whole before it runs: bash reads a script as it goes, and a watcher runs for
# as long as the tests do, while the file may be edited or checked out anew.
main "$@"; exit $?
