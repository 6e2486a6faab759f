#!/usr/bin/env bash
# The Conduit example under wrk, on SQLite and on PostgreSQL: a fresh database seeded by seed.py (1,000 users,
# 10,000 articles), then
#   GET /api/articles?limit=20 anonymously and as a signed-in user (favorited/following computed),
#   GET /api/articles?tag=tag7&limit=20, GET /api/articles/feed?limit=20,
#   POST and DELETE /api/articles/{slug}/favorite alternately (favorite.lua; over 1,000 articles, so it repeats).
# Each is run --repeats times; the summary gives the median req/s (min-max), the median p99, and the CPU time per
# request of the server (conduit, plus every PostgreSQL process on that engine) from /proc. The server (and
# PostgreSQL) run pinned to --server-cpus, wrk to --client-cpus (taskset). Statements per request are counted
# on PostgreSQL with log_statement=all over 20 requests of each kind (the handlers run the same statements on
# SQLite). PostgreSQL is a throwaway server (scripts/pg-test-server) removed at the end.
#   benchmarks/conduit/run.sh [CONDUIT_BINARY] [--engine sqlite|postgres|both] [--duration S] [--connections N]
#                             [--threads T] [--repeats R] [--server-cpus LIST] [--client-cpus LIST]
#                             [--server-arg ARG]...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
conduit="$(realpath "${1:-$here/../../build/examples/conduit}")"
shift || true
engine=both duration=10 connections=64 threads=2 repeats=3 server_cpus=0 client_cpus=1 server_args=()
while (($# > 0)); do
  case "$1" in
    --engine) engine="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --server-cpus) server_cpus="$2"; shift 2 ;;
    --client-cpus) client_cpus="$2"; shift 2 ;;
    --server-arg) server_args+=("$2"); shift 2 ;;  # passed to conduit, e.g. --server-arg --workers=8
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "run.sh: wrk is required (apt-get install wrk)" >&2; exit 1; }
work="$(mktemp -d)"
pgdir="/tmp/keel-pg-conduit-bench-$$"
pid=""
stop_conduit() {
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: conduit did not stop within 15 s of SIGTERM; killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  pid=""
}
trap 'stop_conduit; "$root/scripts/pg-test-server" stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cd "$work"
cat >favorite.lua <<'LUA'
-- POST then DELETE /api/articles/article-N/favorite, N cycling over 1,000 seeded articles.
local n = 0
request = function()
  n = n + 1
  local slug = "article-" .. (math.floor(n / 2) % 1000)
  return wrk.format(n % 2 == 1 and "POST" or "DELETE", "/api/articles/" .. slug .. "/favorite")
end
LUA

# CPU ticks (user + system) of the server: conduit, and on PostgreSQL the postmaster and its children.
server_ticks() {
  local pids="$pid"
  if [[ $current == postgres ]]; then
    local pm
    pm="$(head -1 "$pgdir/data/postmaster.pid")"
    pids="$pids $pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
  fi
  local total=0 p
  for p in $pids; do
    [[ -r /proc/$p/stat ]] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}

# bench LABEL WRK-ARGS...: runs wrk `repeats` times; prints each run and a summary line.
bench() {
  local label="$1"
  shift
  echo "== $current: $label"
  local runs=()
  for ((i = 1; i <= repeats; ++i)); do
    local before after out
    before="$(server_ticks)"
    out="$(taskset -c "$client_cpus" wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$@")"
    after="$(server_ticks)"
    runs+=("$(OUT="$out" TICKS=$((after - before)) HZ="$(getconf CLK_TCK)" python3 - <<'PY'
import os, re
out = os.environ["OUT"]
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p99 = ms(*re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups())
requests = int(re.search(r"(\d+) requests in", out).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
cpu_us = int(os.environ["TICKS"]) / int(os.environ["HZ"]) * 1e6 / max(requests, 1)
print(f"{rps:.1f} {p99:.2f} {cpu_us:.1f} {errors.group(1) if errors else 0}")
PY
)")
    echo "  run $i: req/s p99_ms cpu_us/req non2xx = ${runs[-1]}"
  done
  RUNS="$(printf '%s\n' "${runs[@]}")" LABEL="$current: $label" python3 - <<'PY'
import os, statistics
rows = [list(map(float, l.split())) for l in os.environ["RUNS"].splitlines() if l.strip()]
rps = [r[0] for r in rows]
label = os.environ["LABEL"]
print(f"SUMMARY {label}: median {statistics.median(rps):,.0f} req/s (min {min(rps):,.0f}, max {max(rps):,.0f}), "
      f"p99 {statistics.median(r[1] for r in rows):.1f} ms, CPU {statistics.median(r[2] for r in rows):,.0f} us/request, "
      f"non-2xx {int(sum(r[3] for r in rows))}")
PY
}

# statements METHOD PATH [HEADER]: PostgreSQL statements per request (log_statement=all, 20 requests).
statements() {
  local method="$1" path="$2"
  shift 2
  local log="$pgdir/server.log" lines_before lines_after
  lines_before="$(grep -c -E 'LOG:  (statement|execute)' "$log" || true)"
  for _ in $(seq 1 20); do curl -fsS -o /dev/null -X "$method" "$@" "$base$path"; done
  sleep 0.5
  lines_after="$(grep -c -E 'LOG:  (statement|execute)' "$log" || true)"
  echo "STATEMENTS $method $path: $(python3 -c "print(($lines_after - $lines_before) / 20)") per request"
}

run_engine() {
  current="$1"
  local url
  rm -f conduit.db*
  if [[ $current == postgres ]]; then
    url="$(cd / && "$root/scripts/pg-test-server" start "$pgdir")"
    # The server runs on the server's CPUs too.
    for p in $(pgrep -f "$pgdir/data" || true) $(ps -o pid= --ppid "$(head -1 "$pgdir/data/postmaster.pid")"); do
      taskset -a -p -c "$server_cpus" "$p" >/dev/null 2>&1 || true
    done
  else
    url="sqlite:conduit.db"
  fi
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  base="http://127.0.0.1:$port"
  "$conduit" --db "$url" --jwt-secret "conduit-benchmark-secret-0123456789abcdef" --migrate >/dev/null
  taskset -c "$server_cpus" "$conduit" --db "$url" --jwt-secret "conduit-benchmark-secret-0123456789abcdef" \
    --host 127.0.0.1 --port "$port" "${server_args[@]}" >"server-$current.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$base/api/tags" 2>/dev/null && break; sleep 0.1; done
  # One user through the API; its hash becomes every seeded user's.
  curl -fsS -o reg.json -H 'Content-Type: application/json' \
    -d '{"user":{"username":"bench","email":"bench@example.com","password":"benchmark"}}' "$base/api/users"
  local hash
  if [[ $current == postgres ]]; then
    hash="$(psql "$url" -tAc "SELECT password_hash FROM users")"
    python3 "$here/seed.py" "$url" --password-hash "$hash"
  else
    hash="$(python3 -c 'import sqlite3; print(sqlite3.connect("conduit.db").execute("SELECT password_hash FROM users").fetchone()[0])')"
    python3 "$here/seed.py" conduit.db --password-hash "$hash"
  fi
  token="$(curl -fsS -H 'Content-Type: application/json' \
    -d '{"user":{"email":"user1@example.com","password":"benchmark"}}' "$base/api/users/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])')"
  curl -fsS "$base/api/articles?limit=20" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("articlesCount", d["articlesCount"], "page", len(d["articles"]), "bytes", len(json.dumps(d)))'
  if [[ $current == postgres ]]; then
    psql "$url" -qc "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    local auth=(-H "Authorization: Token $token")
    statements GET "/api/articles?limit=20"
    statements GET "/api/articles?limit=20" "${auth[@]}"
    statements GET "/api/articles/feed?limit=20" "${auth[@]}"
    statements POST "/api/articles/article-5/favorite" "${auth[@]}"
    statements DELETE "/api/articles/article-5/favorite" "${auth[@]}"
    psql "$url" -qc "ALTER SYSTEM SET log_statement = 'none'" -c "SELECT pg_reload_conf()" >/dev/null
  fi
  bench "GET /api/articles?limit=20 (anonymous)" "$base/api/articles?limit=20"
  bench "GET /api/articles?limit=20 (signed in)" -H "Authorization: Token $token" "$base/api/articles?limit=20"
  bench "GET /api/articles?tag=tag7&limit=20 (anonymous)" "$base/api/articles?tag=tag7&limit=20"
  bench "GET /api/articles/feed?limit=20" -H "Authorization: Token $token" "$base/api/articles/feed?limit=20"
  bench "POST+DELETE /api/articles/{slug}/favorite" -H "Authorization: Token $token" -s favorite.lua "$base"
  stop_conduit
  if [[ $current == postgres ]]; then (cd / && "$root/scripts/pg-test-server" stop "$pgdir" >/dev/null); fi
}

echo "conduit: $(nproc) cores, wrk -t$threads -c$connections -d${duration}s x$repeats, server on CPUs $server_cpus," \
  "wrk on CPUs $client_cpus, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
case "$engine" in
  sqlite | postgres) run_engine "$engine" ;;
  both) run_engine sqlite; run_engine postgres ;;
  *) echo "run.sh: --engine sqlite|postgres|both" >&2; exit 2 ;;
esac
