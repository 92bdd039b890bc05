#!/usr/bin/env bash
# Makes sure the suite has what it runs against, then prints `export` lines for the servers:
# - Debian's programs the tests drive, installed when missing: nginx (deploy/nginx.conf),
#   chromium (the browser tests), redis-server and PostgreSQL (throwaway servers the fault
#   tests crash on purpose), prometheus (deploy/prometheus/ checked and scraping a stack);
# - a real Redis and PostgreSQL: the ones running on 127.0.0.1 (this kind of machine starts
#   both), or else throwaway instances under .services/ on their own ports.
# Progress goes to stderr, exports to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { echo "test-services: $*" >&2; }

redis_url=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
pg_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/arbscan}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

apt_install() { "$root/scripts/apt-install.sh" "$@"; }

missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
command -v promtool >/dev/null || missing+=(prometheus)  # deploy/prometheus/ checked and run
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

if [ -z "${TEST_REDIS_URL:-}" ] && ! port_open 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$root/.services/redis"
  if ! port_open 6399; then
    log "starting a throwaway redis on 127.0.0.1:6399"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6399 --save "" --appendonly no \
      --dir "$root/.services/redis" --logfile "$root/.services/redis/redis.log" >&2
    for _ in $(seq 50); do port_open 6399 && break; sleep 0.1; done
  fi
  redis_url=redis://127.0.0.1:6399/15
fi

if [ -z "${TEST_DATABASE_URL:-}" ] && ! port_open 5432; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$pgbin" ]; then apt_install postgresql; pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1); fi
  data="$root/.services/pg"
  run_as=()
  # PostgreSQL refuses to run as root: use the postgres system user when we are root.
  if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || useradd -r -M postgres; run_as=(runuser -u postgres --); fi
  if [ ! -s "$data/PG_VERSION" ]; then
    log "initialising a throwaway PostgreSQL cluster in $data"
    mkdir -p "$data"; [ "$(id -u)" = 0 ] && chown postgres "$data" "$root/.services"
    "${run_as[@]}" "$pgbin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  if ! port_open 5441; then
    log "starting a throwaway PostgreSQL on 127.0.0.1:5441"
    "${run_as[@]}" "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p 5441 -k /tmp -c listen_addresses=127.0.0.1" start >&2
  fi
  pg_url=postgres://postgres@127.0.0.1:5441/arbscan
fi

echo "export TEST_REDIS_URL='$redis_url'"
echo "export DATABASE_URL='$pg_url'"
