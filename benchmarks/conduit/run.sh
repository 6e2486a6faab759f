#!/usr/bin/env bash
# The Conduit example under wrk: a fresh SQLite database seeded by seed.py (1,000 users, 10,000 articles),
# then GET /api/articles?limit=20 anonymously and as a signed-in user (favorited/following computed), and
# GET /api/articles/feed?limit=20.
#   benchmarks/conduit/run.sh [CONDUIT_BINARY] [--duration S] [--connections N] [--threads T]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
conduit="$(realpath "${1:-$here/../../build/examples/conduit}")"
shift || true
duration=10 connections=64 threads=2
while (($# > 0)); do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "run.sh: wrk is required (apt-get install wrk)" >&2; exit 1; }
work="$(mktemp -d)"
pid=""
trap '[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"
"$conduit" --migrate >/dev/null
"$conduit" --host 127.0.0.1 --port "$port" >server.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$base/api/tags" 2>/dev/null && break; sleep 0.1; done
# One user through the API; its hash becomes every seeded user's.
curl -fsS -o reg.json -H 'Content-Type: application/json' \
  -d '{"user":{"username":"bench","email":"bench@example.com","password":"benchmark"}}' "$base/api/users"
hash="$(python3 -c 'import sqlite3; print(sqlite3.connect("conduit.db").execute("SELECT password_hash FROM users").fetchone()[0])')"
python3 "$here/seed.py" conduit.db --password-hash "$hash"
token="$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"user":{"email":"user1@example.com","password":"benchmark"}}' "$base/api/users/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])')"
echo "conduit: $(nproc) cores, wrk -t$threads -c$connections -d${duration}s, server with keel's default threads"
bench() {
  local label="$1"
  shift
  echo "== $label"
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$@" | grep -E "Requests/sec|Latency  |50%|99%|Non-2xx|Socket errors"
}
curl -fsS "$base/api/articles?limit=20" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("articlesCount", d["articlesCount"], "page", len(d["articles"]), "bytes", len(json.dumps(d)))'
bench "GET /api/articles?limit=20 (anonymous)" "$base/api/articles?limit=20"
bench "GET /api/articles?limit=20 (signed in)" -H "Authorization: Token $token" "$base/api/articles?limit=20"
bench "GET /api/articles?tag=tag7&limit=20 (anonymous)" "$base/api/articles?tag=tag7&limit=20"
bench "GET /api/articles/feed?limit=20" -H "Authorization: Token $token" "$base/api/articles/feed?limit=20"
