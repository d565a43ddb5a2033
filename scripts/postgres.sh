#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and benchmarks, in /tmp/chronorag-postgres-PORT
# (never a system cluster; under /tmp so that the `postgres` user can reach it wherever the
# checkout is): installs Debian's `postgresql` package when no server binaries are found,
# initialises a cluster on first use and starts it on 127.0.0.1. Idempotent.
#
#   ./scripts/postgres.sh start   # prints the admin URL on its last line
#   ./scripts/postgres.sh reset   # a new empty cluster (stops and removes the old one)
#   ./scripts/postgres.sh stop
#   ./scripts/postgres.sh url
#
# Port: $CHRONORAG_PG_PORT (default 54329); each port has its own cluster
# ($CHRONORAG_PG_ROOT overrides the folder). The cluster trusts local connections and is for tests only.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${CHRONORAG_PG_PORT:-54329}"
root="${CHRONORAG_PG_ROOT:-/tmp/chronorag-postgres-$port}"
data="$root/data"
url="postgres://chronorag@127.0.0.1:$port/postgres"

bindir() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
    [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

# Runs a server binary as the `postgres` user when we are root (PostgreSQL refuses root).
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_server() {
    local bin
    bin="$(bindir || true)"
    if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ]; then
        as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >&2 || true
    fi
}

cmd="${1:-start}"
if [ "$cmd" = reset ]; then
    stop_server
    rm -rf "$root"
    cmd=start
fi
case "$cmd" in
start)
    bin="$(bindir || true)"
    if [ -z "$bin" ]; then
        echo "installing PostgreSQL (Debian package postgresql)…" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        # The package's own cluster is not used: ours lives in target/postgres.
        apt-get install -y -qq --no-install-recommends postgresql >&2
        bin="$(bindir)"
    fi
    mkdir -p "$root"
    [ "$(id -u)" = 0 ] && chown postgres "$root"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$data" -U chronorag --auth=trust -E UTF8 --no-instructions >&2
    fi
    if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 \
            -o "-p $port -k $root -c listen_addresses=127.0.0.1 -c max_connections=200" \
            start >&2
    fi
    echo "$url"
    ;;
stop)
    stop_server
    ;;
url)
    echo "$url"
    ;;
*)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
