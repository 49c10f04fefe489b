#!/usr/bin/env bash
# The system packages and local servers BitLoot's commands need, in one place for the
# Makefile (`make test`, `make demo`, `make deploy-check`) and .ci/run:
#
#   tools/system_packages.sh ensure GROUP...   install what GROUP needs when run as root (Debian);
#                                              otherwise stop at once naming the one command to run
#   tools/system_packages.sh check GROUP...    never install: exit 1 naming that command
#   tools/system_packages.sh servers           start PostgreSQL and RabbitMQ if not running
#   tools/system_packages.sh test-servers      the same, unless the tests were given servers
#                                              (BITLOOT_TEST_*_URL) or a Docker engine answers
#
# GROUPs: python (a Python that makes virtualenvs, which every make target's .venv needs),
# base (make, git, python), demo (what `make demo` needs: python alone; its PostgreSQL is
# a pip wheel, S3 and SMTP are Python servers, the broker is in memory), test (the
# servers the tests use and whose binaries some start privately, and Debian's Chromium,
# which the browser tests drive through Playwright), deploy (kubectl's kustomize,
# `docker compose config`, promtool and caddy for `make deploy-check`).
set -euo pipefail

log() { printf '[system] %s\n' "$*" >&2; }

as_root() { [[ $EUID -eq 0 ]]; }

# Each group's missing Debian packages, one a line.
missing_in() {
  case "$1" in
    base)
      command -v make >/dev/null || echo make
      command -v git >/dev/null || echo git
      missing_in python
      ;;
    python | demo)
      python3 -c 'import venv, ensurepip' 2>/dev/null || echo python3-venv
      ;;
    test)
      missing_in python
      command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
        || echo postgresql
      command -v rabbitmq-server >/dev/null || echo rabbitmq-server
      command -v chromium >/dev/null || echo chromium
      ;;
    deploy)
      command -v kubectl >/dev/null || echo kubernetes-client
      # promtool, which checks and unit-tests the alert rules (its servers are not wanted:
      # `packages` stops them).
      command -v promtool >/dev/null || echo prometheus
      # caddy, which validates compose's TLS proxy configuration (deploy/caddy/Caddyfile)
      # and which deploy/tests run to probe its routes (its server is not wanted either).
      command -v caddy >/dev/null || echo caddy
      if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
        echo docker-compose
      fi
      ;;
    *)
      log "unknown group $1 (python, base, demo, test, deploy)"
      exit 2
      ;;
  esac
}

# `ensure` or `check` over the groups named.
packages() {
  local mode=$1 missing
  shift
  missing=$(for group in "$@"; do missing_in "$group"; done | sort -u | tr '\n' ' ')
  missing=${missing% }
  [[ -z $missing ]] && return 0
  if [[ $mode == ensure ]] && as_root; then
    log "installing system packages: $missing"
    apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    # Debian's prometheus package starts a server on :9090 (and node-exporter on :9100)
    # where systemd runs; `make deploy-check` wants promtool alone.
    if [[ " $missing " == *" prometheus "* ]] && command -v systemctl >/dev/null; then
      systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
    fi
    if [[ " $missing " == *" caddy "* ]] && command -v systemctl >/dev/null; then
      systemctl disable --now caddy >/dev/null 2>&1 || true
    fi
    return 0
  fi
  local sudo=""
  as_root || sudo="sudo "
  log "missing system packages: $missing; run: ${sudo}apt-get install -y $missing"
  exit 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # port seconds name
  for _ in $(seq 1 "$2"); do port_open "$1" && return 0; sleep 1; done
  log "$3 did not open port $1 within $2 s"
  return 1
}

needs_root_to_start() {
  as_root && return 0
  log "$1 is not running on 127.0.0.1:$2; run: sudo tools/system_packages.sh servers"
  exit 1
}

start_postgres() {
  port_open 5432 && return 0
  needs_root_to_start PostgreSQL 5432
  log "starting PostgreSQL"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  # Tests connect as postgres over TCP without a password, as on the developers' machines.
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for_port 5432 60 PostgreSQL
}

start_rabbitmq() {
  port_open 5672 && return 0
  needs_root_to_start RabbitMQ 5672
  log "starting RabbitMQ"
  rabbitmq-server -detached
  wait_for_port 5672 120 RabbitMQ
}

# The tests' own order (bitloot_testing.servers): a URL given, then a Docker engine's
# containers, then the local servers, which only the last case needs running.
docker_answers() {
  command -v docker >/dev/null && timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

case "${1:-}" in
  ensure | check)
    mode=$1
    shift
    (($#)) || { log "name a group: python, base, demo, test, deploy"; exit 2; }
    packages "$mode" "$@"
    ;;
  servers)
    start_postgres
    start_rabbitmq
    ;;
  test-servers)
    docker_answers && exit 0
    [[ -n ${BITLOOT_TEST_POSTGRES_URL:-} ]] || start_postgres
    [[ -n ${BITLOOT_TEST_AMQP_URL:-} ]] || start_rabbitmq
    ;;
  *)
    log "usage: $0 ensure|check GROUP... | servers | test-servers"
    exit 2
    ;;
esac
