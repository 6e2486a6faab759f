# keel_bench_redis_server: starts a redis-server for a benchmark (sourced by benchmarks/cache.sh and
# benchmarks/redis_hub.sh): 127.0.0.1, a free port (in $keel_redis_port), pinned to CPU 1, a temporary directory,
# no persistence; it is stopped and its directory removed when the script exits.
keel_bench_redis_server() {
  keel_redis_dir=$(mktemp -d /tmp/keel-redis-bench-XXXXXX)
  keel_redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  taskset -c 1 redis-server --port "$keel_redis_port" --bind 127.0.0.1 --dir "$keel_redis_dir" --save "" \
    --appendonly no --logfile "$keel_redis_dir/redis.log" &
  keel_redis_pid=$!
  trap 'kill $keel_redis_pid 2>/dev/null; wait $keel_redis_pid 2>/dev/null; rm -rf "$keel_redis_dir"' EXIT
  for _ in $(seq 100); do
    if redis-cli -p "$keel_redis_port" ping >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  echo "keel_bench_redis_server: redis-server did not start (see $keel_redis_dir/redis.log)" >&2
  return 1
}
