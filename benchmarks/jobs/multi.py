#!/usr/bin/env python3
"""keel::jobs with K worker processes sharing one queue (benchmarks/RESULTS.md, section "Jobs").

    benchmarks/jobs/multi.py --bench build/benchmarks/jobs/jobs_bench --url sqlite:/tmp/q.db \\
        [--procs 1,4] [--jobs 2000] [--samples 200] [--interval-ms 20] [--runs 3] [--sqlite-sync FULL]
    ... --url postgres://keel@127.0.0.1:PORT/DB

Per K and run, each phase against an emptied keel_jobs (`jobs_bench --role setup`):
  throughput  one process enqueues --jobs no-op jobs (enqueues/s), then K worker processes (8 at once each)
              run them; jobs/s = jobs / (last finished_at - first started_at), from the table itself, so
              process start-up is not counted.
  latency     K idle workers; --samples jobs, one every --interval-ms, stamped with the steady clock and
              measured to the handler's first line: (a) enqueued by a process of their own (the workers see
              them at their next poll, 200 ms), (b) enqueued by worker 0 itself (its in-process wake-up; the
              other workers still compete for them).
Prints one line per K with the median over runs and the spread (max - min).
"""

import argparse
import os
import pathlib
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time


def count_done(url):
    sql = "SELECT count(*), min(started_at), max(finished_at) FROM keel_jobs WHERE state = 'done'"
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:"), timeout=30) as c:
            n, first, last = c.execute(sql).fetchone()
    else:
        out = subprocess.run(["psql", "-qAt", url, "-c", sql], capture_output=True, text=True, check=True)
        n, first, last = (int(x) if x else 0 for x in out.stdout.strip().split("|"))
    return n, first, last


def bench(args, *extra):
    cmd = [args.bench, "--url", args.url, "--sqlite-sync", args.sqlite_sync, *map(str, extra)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


class Workers:
    def __init__(self, args, k, work, extra_for_first=()):
        self.stop = work / f"stop-{time.monotonic_ns()}"
        self.outs = [work / f"w{i}-{time.monotonic_ns()}.txt" for i in range(k)]
        self.procs = []
        for i in range(k):
            cmd = [args.bench, "--role", "worker", "--url", args.url, "--sqlite-sync", args.sqlite_sync,
                   "--concurrency", "8", "--stop-file", str(self.stop), "--out", str(self.outs[i])]
            if i == 0:
                cmd += list(map(str, extra_for_first))
            self.procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
        for p in self.procs:
            if p.stdout.readline().strip() != "ready":
                raise SystemExit("multi.py: a worker did not start")

    def finish(self):
        self.stop.touch()
        ran, latencies = [], []
        for p, out in zip(self.procs, self.outs):
            if p.wait(timeout=60) != 0:
                raise SystemExit("multi.py: a worker failed")
            lines = out.read_text().split()
            ran.append(int(lines[1]))
            latencies += [float(x) for x in lines[2:]]
        self.stop.unlink()
        return ran, latencies


def wait_done(url, n, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, first, last = count_done(url)
        if done >= n:
            return first, last
        time.sleep(0.05)
    raise SystemExit(f"multi.py: {n} jobs not done after {seconds} s")


def quantile(v, q):
    v = sorted(v)
    return v[int(q * (len(v) - 1))] if v else 0.0


def one_run(args, k, work):
    row = {}
    bench(args, "--role", "setup")
    out = bench(args, "--role", "enqueue", "--jobs", args.jobs)
    row["enqueue"] = float(out.split()[-1].removesuffix("/s"))
    w = Workers(args, k, work)
    first, last = wait_done(args.url, args.jobs)
    ran, _ = w.finish()
    row["jobs_per_s"] = args.jobs / max((last - first) / 1000, 1e-3)
    row["spread_over_workers"] = ran
    if sum(ran) != args.jobs:  # every job once across the processes
        raise SystemExit(f"multi.py: {sum(ran)} handler runs for {args.jobs} jobs")

    bench(args, "--role", "setup")
    w = Workers(args, k, work)
    bench(args, "--role", "enqueue", "--jobs", args.samples, "--interval-ms", args.interval_ms)
    wait_done(args.url, args.samples)
    _, lat = w.finish()
    row["other_p50"], row["other_p99"] = quantile(lat, 0.5), quantile(lat, 0.99)

    bench(args, "--role", "setup")
    w = Workers(args, k, work, ["--samples", args.samples, "--interval-ms", args.interval_ms])
    wait_done(args.url, args.samples)
    _, lat = w.finish()
    row["self_p50"], row["self_p99"] = quantile(lat, 0.5), quantile(lat, 0.99)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--procs", default="1,4")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--interval-ms", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite-sync", default="FULL")
    args = parser.parse_args()
    args.bench = os.path.abspath(args.bench)
    work = pathlib.Path(tempfile.mkdtemp(prefix="keel-jobs-multi-"))
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average {os.getloadavg()}")
    for k in (int(x) for x in args.procs.split(",")):
        rows = []
        for r in range(args.runs):
            row = one_run(args, k, work)
            print(f"K={k} run {r + 1}: {row}", flush=True)
            rows.append(row)

        def med(key):
            v = [x[key] for x in rows]
            return statistics.median(v), max(v) - min(v)

        parts = [f"{key} {m:.2f} ({s:.2f})" for key in ("enqueue", "jobs_per_s", "other_p50", "other_p99",
                                                           "self_p50", "self_p99") for m, s in [med(key)]]
        print(f"K={k} median (spread): " + ", ".join(parts), flush=True)
    print(f"# end {time.strftime('%H:%M:%S', time.gmtime())} UTC, load average {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
