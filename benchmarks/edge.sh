#!/usr/bin/env bash
# Footprint of a hello binary (benchmarks/RESULTS.md, "Edge builds"): file size, idle RSS and start-up time.
#   benchmarks/edge.sh BINARY [EMULATOR...]       e.g. benchmarks/edge.sh build-edge/x86_64/examples/hello
#                                                      benchmarks/edge.sh build-edge/aarch64/examples/hello qemu-aarch64-static
#   size      the file as it is, and stripped (strip -o a copy; equal for the edge builds, which are stripped)
#   idle RSS  as benchmarks/compare.sh takes it: the server listening, 0.2 s later, before any request,
#             VmRSS and RssAnon from /proc (benchtool.py rss), plus Pss (shared pages divided among their users)
#             and the threads running; under an emulator this is the emulator's memory, not the program's
#   start-up  from the exec to the first answered GET /hello (median of 11 starts, new connection each try)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:?usage: benchmarks/edge.sh BINARY [EMULATOR...]}"
shift
emulator=("$@")

size=$(stat -c %s "$bin")
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip_tool=strip
if [[ $(file -b "$bin") == *aarch64* ]]; then strip_tool=aarch64-linux-gnu-strip; fi
"$strip_tool" -o "$stripped" "$bin"
linkage=$(file -b "$bin" | grep -oE 'statically linked|dynamically linked' || echo "?")
echo "binary     $bin (${emulator[*]:-native}), $linkage"
awk -v a="$size" -v b="$(stat -c %s "$stripped")" \
  'BEGIN { printf "size       %d bytes (%.1f KiB); stripped %d bytes (%.1f KiB)\n", a, a / 1024, b, b / 1024 }'

python3 - "$here" "$bin" "${emulator[@]}" <<'EOF'
import os, socket, statistics, subprocess, sys, time
here, binary, emulator = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, here)
import benchtool

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def get_hello(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.startswith(b"HTTP/1.1 200") and data.endswith(b"Hello, World!")

def start(port):
    return subprocess.Popen([*emulator, binary, "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False

# idle RSS, as compare.sh: listening, 0.2 s, then /proc
port = free_port()
p = start(port)
try:
    deadline = time.monotonic() + 20
    while not listening(port):
        if time.monotonic() > deadline or p.poll() is not None:
            sys.exit(f"edge.sh: {binary} did not listen on {port}")
        time.sleep(0.01)
    time.sleep(0.2)
    rss, anon = benchtool.rss_kib(p.pid)
    pss = 0
    with open(f"/proc/{p.pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    threads = len(os.listdir(f"/proc/{p.pid}/task"))
    print(f"idle RSS   VmRSS {rss} KiB, RssAnon {anon} KiB, Pss {pss} KiB, {threads} threads (before any request)")
    assert get_hello(port), "no answer to GET /hello"
finally:
    p.terminate()
    p.wait()

# start-up: exec -> first answered request
times = []
for _ in range(11):
    port = free_port()
    t0 = time.perf_counter()
    p = start(port)
    try:
        while True:
            try:
                if get_hello(port):
                    break
            except OSError:
                pass
            if p.poll() is not None or time.perf_counter() - t0 > 20:
                sys.exit("edge.sh: no answer within 20 s")
            time.sleep(0.001)
        times.append(time.perf_counter() - t0)
    finally:
        p.terminate()
        p.wait()
print(f"start-up   {statistics.median(times) * 1000:.1f} ms median to the first answered GET /hello "
      f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, 11 starts)")
EOF
