#!/usr/bin/env python3
"""Helpers for benchmarks/compare.sh and benchmarks/instructions.sh (python3 standard library only).

  benchtool.py cpu PID        CPU time (utime+stime, microseconds) of PID and its descendants
  benchtool.py rss PID        resident memory (VmRSS and RssAnon, KiB) of PID and its descendants
  benchtool.py load ...       pipelined keep-alive load generator that checks every response (see --help)
  benchtool.py report ...     median table (markdown) from the samples compare.sh collected
  benchtool.py time -- CMD...  runs CMD, prints "wall_seconds cpu_seconds" (CPU of CMD and its children)
  benchtool.py callgrind-total FILE   total instructions (Ir) in a callgrind output file
  benchtool.py callgrind-diff SMALL LARGE N   per-request instructions by function (two runs, N requests apart)
"""
import argparse
import os
import re
import socket
import statistics
import sys
import time

EXPECTED = {
    "/plaintext": (b"Hello, World!", "text/plain"),
    "/json": (b'{"message":"Hello, World!"}', "application/json"),
    "/protected": (b"Hello, World!", "text/plain"),
}


# --- /proc ---------------------------------------------------------------------------------------------------
def process_tree(root):
    """root and every descendant, found through the ppid field of /proc/*/stat (threads count in their process)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_microseconds(root):
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total * 1_000_000 // ticks_per_second


def rss_kib(root):
    """(VmRSS, RssAnon) in KiB summed over the tree: RssAnon leaves out shared-library pages."""
    total = anon = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                    elif line.startswith("RssAnon:"):
                        anon += int(line.split()[1])
        except OSError:
            continue
    return total, anon


# --- load generator ------------------------------------------------------------------------------------------
class ResponseReader:
    """Reads HTTP/1.1 responses framed by Content-Length from one socket and checks them."""

    def __init__(self, sock, path):
        self.sock, self.buffer = sock, b""
        self.body, self.content_type = EXPECTED.get(path, (None, None))

    def read_one(self):
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                head = self.buffer[:head_end].decode("latin-1").split("\r\n")
                headers = {}
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                if "content-length" not in headers:
                    raise ValueError(f"response without Content-Length: {head[0]!r}")
                end = head_end + 4 + int(headers["content-length"])
                if len(self.buffer) >= end:
                    body = self.buffer[head_end + 4:end]
                    self.buffer = self.buffer[end:]
                    return head[0], headers, body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ValueError("connection closed by the server")
            self.buffer += chunk

    def check_one(self):
        status, headers, body = self.read_one()
        if status.split(" ")[1:2] != ["200"]:
            raise ValueError(f"wrong status line {status!r}")
        if self.body is not None and body != self.body:
            raise ValueError(f"wrong body {body[:80]!r}")
        if self.content_type and headers.get("content-type", "").split(";")[0].strip() != self.content_type:
            raise ValueError(f"wrong Content-Type {headers.get('content-type')!r}")


def run_load(args):
    extra = "".join(f"{h}\r\n" for h in args.header)
    request = (f"GET {args.path} HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
               f"Connection: keep-alive\r\n{extra}\r\n").encode()
    sockets = []
    for _ in range(args.connections):
        s = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sockets.append(s)
    readers = [ResponseReader(s, args.path) for s in sockets]
    remaining = [args.requests // args.connections] * args.connections
    remaining[0] += args.requests % args.connections
    answered = 0
    started = time.monotonic()
    try:
        while any(remaining):
            # Every connection gets its batch before any is read, so the server sees them ready together.
            batches = []
            for i, s in enumerate(sockets):
                n = min(args.depth, remaining[i])
                if n:
                    s.sendall(request * n)
                    remaining[i] -= n
                    batches.append((i, n))
            for i, n in batches:
                for _ in range(n):
                    readers[i].check_one()
                    answered += 1
    except (ValueError, OSError) as error:
        print(f"load: {args.path} on port {args.port}: after {answered} good responses: {error}", file=sys.stderr)
        return 1
    finally:
        for s in sockets:
            s.close()
    if not args.quiet:
        elapsed = time.monotonic() - started
        print(f"load: {answered} responses to {args.path} checked ({args.connections} connections, "
              f"{args.depth} per write) in {elapsed:.2f} s")
    return 0


# --- report --------------------------------------------------------------------------------------------------
WORKLOADS = [("plaintext", "/plaintext keep-alive"), ("pipelined", "/plaintext pipelined x16"),
             ("json", "/json keep-alive")]


def read_table(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    rows.append(line.rstrip("\n").split("\t"))
    return rows


def fmt_int(x):
    return f"{x:,.0f}"


def fmt_latency(us):
    if us is None or us <= 0:
        return "-"
    return f"{us / 1000:.2f} ms"


def run_report(args):
    # samples: server workload run requests duration_us p99_us non2xx socket_errors cpu_us
    samples = {}
    for server, workload, _run, requests, duration, p99, non2xx, sockerr, cpu in read_table(args.samples):
        samples.setdefault((server, workload), []).append(
            dict(requests=int(requests), duration=int(duration), p99=int(p99), non2xx=int(non2xx),
                 sockerr=int(sockerr), cpu=int(cpu)))
    footprint = {}
    for server, key, value in read_table(args.footprint):
        footprint.setdefault(server, {})[key] = value
    # A server that never started (not built, wrong answers) has no label: it gets a line, not a row.
    servers = [s for s in args.servers.split(",") if "label" in footprint.get(s, {})]
    skipped = [s for s in args.servers.split(",") if s not in servers]

    medians = {}
    for key, runs in samples.items():
        good = [r for r in runs if r["requests"] > 0 and r["duration"] > 0]
        if not good:
            medians[key] = None
            continue
        medians[key] = dict(
            rps=statistics.median(r["requests"] * 1e6 / r["duration"] for r in good),
            p99=statistics.median(r["p99"] for r in good),
            cpu=statistics.median(r["cpu"] / r["requests"] for r in good),
            errors=sum(r["sockerr"] for r in runs), non2xx=sum(r["non2xx"] for r in runs))

    def cell(server, workload, what):
        if (server, workload) not in medians:
            return footprint.get(server, {}).get(f"{workload}_note", "-")
        m = medians[(server, workload)]
        if m is None:
            return "no responses"
        if what == "p99":
            return fmt_latency(m["p99"])
        text = fmt_int(m["rps"])
        if m["errors"]:
            text += f" ({m['errors']} socket errors)"
        if m["non2xx"]:
            text += f" ({m['non2xx']} non-2xx!)"
        return text

    def cpu_cell(server):
        parts = []
        for workload, _ in WORKLOADS:
            m = medians.get((server, workload))
            parts.append(f"{m['cpu']:.2f}" if m else "-")
        return " / ".join(parts)

    def kib(value):
        if value in (None, ""):
            return "-"
        total, _, anon = value.partition(" ")
        text = f"{int(total) / 1024:.1f} MiB"
        return f"{text} ({int(anon) / 1024:.1f} anon)" if anon else text

    out = []
    out.append("| server | plaintext req/s | p99 | pipelined req/s | json req/s | p99 | "
               "server CPU µs/req (plain / pipelined / json) | idle RSS | RSS after load | stripped binary | "
               "compile (g++ -O2) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for server in servers:
        f = footprint.get(server, {})
        binary = f.get("binary_kib")
        binary_text = "-" if not binary else f"{int(binary):,} KiB {f.get('binary_name', '')}".strip()
        compile_text = f.get("compile_s", "-")
        if compile_text not in ("-", "failed"):
            wall = f.get("compile_wall_s")
            wall_text = f", {float(wall):.1f} s wall" if wall else ""
            compile_text = f"{float(compile_text):.1f} s CPU{wall_text} {f.get('compile_name', '')}".strip()
        out.append("| " + " | ".join([
            f.get("label", server), cell(server, "plaintext", "rps"), cell(server, "plaintext", "p99"),
            cell(server, "pipelined", "rps"), cell(server, "json", "rps"), cell(server, "json", "p99"),
            cpu_cell(server), kib(f.get("idle_rss_kib")), kib(f.get("load_rss_kib")), binary_text,
            compile_text]) + " |")

    if "keel" in servers and any(k[0] == "keel" for k in samples):
        out.append("")
        out.append("keel's ratio to each peer (req/s: above 1 is better for keel; CPU/req: below 1 is better):")
        out.append("")
        out.append("| keel vs | plaintext req/s | pipelined req/s | json req/s | CPU/req plain | CPU/req pipelined | "
                   "CPU/req json |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for peer in servers:
            if peer == "keel":
                continue
            cells = []
            for what in ("rps", "cpu"):
                for workload, _ in WORKLOADS:
                    k, p = medians.get(("keel", workload)), medians.get((peer, workload))
                    cells.append(f"{k[what] / p[what]:.2f}x" if k and p and p[what] else "-")
            out.append(f"| {footprint.get(peer, {}).get('label', peer)} | " + " | ".join(cells) + " |")
    if skipped:
        out.append("")
        out.append("Not in the table (not built or did not answer correctly): " + ", ".join(skipped) + ".")
    print("\n".join(out))
    return 0


def callgrind_total(path):
    with open(path) as f:
        text = f.read()
    match = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
    if not match:
        raise SystemExit(f"no summary/totals line in {path}")
    return int(match.group(1))


def annotate_counts(path):
    """Self instructions per function (callgrind_annotate, every function shown)."""
    import subprocess
    text = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True, text=True,
                          check=True).stdout
    counts = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S.*)$", line)
        if match and "PROGRAM TOTALS" not in line:
            name = re.sub(r" \[[^\]]*\]$", "", match.group(2))  # drop the " [object file]" suffix
            counts[name] = counts.get(name, 0) + int(match.group(1).replace(",", ""))
    return counts


def short_name(name):
    """Function name without its file prefix and with template arguments folded, so a row fits a line."""
    name = re.sub(r"^(\?\?\?|[^ ]*\.[A-Za-z]+):", "", name)
    out, depth = [], 0
    for ch in name:
        if ch == "<":
            if depth == 0:
                out.append("<…>")
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def callgrind_diff(small, large, requests, top):
    """Per-request instructions by function: (large run - small run) / requests; start-up cancels out."""
    a, b = annotate_counts(small), annotate_counts(large)
    rows = sorted(((b.get(k, 0) - a.get(k, 0)) / requests, k) for k in set(a) | set(b))
    rows.reverse()
    total = sum(r[0] for r in rows)
    print(f"{total:10.1f}  total per request")
    for value, name in rows[:top]:
        if abs(value) < 0.5:
            break
        print(f"{value:10.1f}  {short_name(name)[:150]}")


def time_command(command):
    """Runs command; prints wall seconds and CPU seconds (user+sys of it and its children, e.g. cc1plus, ld).
    CPU time is what a compile costs on a quiet machine; wall time also counts waiting for a shared CPU."""
    import resource
    import subprocess
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    result = subprocess.run(command, stdout=sys.stderr)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"{wall:.2f} {cpu:.2f}")
    return result.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("cpu").add_argument("pid", type=int)
    sub.add_parser("rss").add_argument("pid", type=int)
    load = sub.add_parser("load", help="pipelined requests over keep-alive connections; exit 1 on a wrong answer")
    load.add_argument("--port", type=int, required=True)
    load.add_argument("--path", default="/plaintext")
    load.add_argument("--requests", type=int, default=2000)
    load.add_argument("--connections", type=int, default=4)
    load.add_argument("--depth", type=int, default=16, help="requests per write")
    load.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for any one read")
    load.add_argument("--quiet", action="store_true")
    load.add_argument("--header", action="append", default=[], help="an extra request header, 'Name: value'")
    report = sub.add_parser("report")
    report.add_argument("--samples", required=True)
    report.add_argument("--footprint", required=True)
    report.add_argument("--servers", required=True, help="comma-separated order of the rows")
    sub.add_parser("time").add_argument("cmd", nargs=argparse.REMAINDER)
    sub.add_parser("callgrind-total").add_argument("file")
    diff = sub.add_parser("callgrind-diff", help="per-request instructions by function from two callgrind runs")
    diff.add_argument("small")
    diff.add_argument("large")
    diff.add_argument("requests", type=int, help="large - small requests")
    diff.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    if args.command == "cpu":
        print(cpu_microseconds(args.pid))
    elif args.command == "rss":
        print(*rss_kib(args.pid))
    elif args.command == "load":
        return run_load(args)
    elif args.command == "report":
        return run_report(args)
    elif args.command == "time":
        return time_command(args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd)
    elif args.command == "callgrind-total":
        print(callgrind_total(args.file))
    elif args.command == "callgrind-diff":
        callgrind_diff(args.small, args.large, args.requests, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
