#!/usr/bin/env python3
"""Memory of idle WebSocket connections: starts ws_bench (one thread), opens N connections (default 10,000)
that each complete the handshake and exchange one message, lets them sit idle, and reports the server's RSS
growth per connection (VmRSS from /proc, after minus before). --baseline does the same with ws_bench's /idle,
a bare keel::upgrade protocol: the difference is what WebSocket itself adds to an upgraded connection.

Usage: benchmarks/ws_memory.py [--connections N] [--baseline] [--bench build/benchmarks/ws_bench] [--port P]
"""
import argparse
import os
import resource
import socket
import subprocess
import sys
import time

HANDSHAKE = (b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
# "hello", masked with 00 00 00 00 (the masking is still there; the key is just zero).
HELLO = b"\x81\x85\x00\x00\x00\x00hello"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--bench", default=os.path.join(root, "build", "benchmarks", "ws_bench"))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--baseline", action="store_true", help="bare keel::upgrade connections (/idle)")
    args = ap.parse_args()
    n = args.connections
    handshake = HANDSHAKE.replace(b"/echo", b"/idle") if args.baseline else HANDSHAKE
    hello = b"x" if args.baseline else HELLO
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 1000)), hard))
    port = args.port or free_port()
    server = subprocess.Popen([args.bench, "--host", "127.0.0.1", "--port", str(port), "--threads", "1",
                               "--max-connections", str(n + 100)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        # Warm up: one connection through a message, so the allocator's first arenas and the thread-local
        # caches exist before the baseline.
        warm = socket.create_connection(("127.0.0.1", port))
        warm.sendall(handshake)
        warm.recv(4096)
        warm.sendall(hello)
        if not args.baseline:
            warm.recv(64)
        time.sleep(0.3)
        before = rss_kib(server.pid)
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(handshake)
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            if not head.startswith(b"HTTP/1.1 101"):
                raise RuntimeError("connection %d: %r" % (i, head[:40]))
            s.sendall(hello)
            echo = b""
            while not args.baseline and len(echo) < 7:
                echo += s.recv(64)
            socks.append(s)
        time.sleep(1.0)
        after = rss_kib(server.pid)
        per = (after - before) * 1024.0 / n
        print("%s connections=%d rss_before_kib=%d rss_after_kib=%d bytes_per_connection=%.0f" %
              ("upgrade-baseline" if args.baseline else "websocket", n, before, after, per))
        for s in socks:
            s.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
