#!/usr/bin/env python3
"""Two newsletter processes behind a real nginx (round robin), sharing one PostgreSQL database and one Redis
(driven by `tests/newsletter/run ... --pg START --scale-out`).

Checks that requests reach both processes, that every job runs exactly once across both (each welcome and
newsletter mail arrives once at the SMTP server, every keel_jobs row is done after one attempt), and that a
cache entry invalidated through one process is gone for the other (the Redis key disappears, the other
process answers the new record with a new ETag).
"""

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from check import check, failures, finish, free_port, mails, request, start_app, start_smtp, wait_for_port, wait_until

SUBSCRIBERS = 24


def start_redis(work):
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(work),
                              "--save", "", "--appendonly", "no", "--daemonize", "no"],
                             stdout=open(work / "redis.log", "w"), stderr=subprocess.STDOUT)

    def up():
        if redis.poll() is not None:
            raise SystemExit("newsletter: redis-server exited: " + (work / "redis.log").read_text())
        return subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True).stdout == "PONG\n"

    wait_until(up, "redis-server")
    return port, redis


def start_nginx(work, upstreams):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    prefix = work / "nginx"
    prefix.mkdir()
    p = str(prefix)
    servers = "".join(f"    server {u.removeprefix('http://')};\n" for u in upstreams)
    (prefix / "nginx.conf").write_text(
        f"daemon off;\nmaster_process off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n"
        f"events {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n"
        f"  client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n  fastcgi_temp_path {p}/fastcgi;\n"
        f"  uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n"
        f"  upstream newsletter {{\n{servers}  }}\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n"
        f"    location / {{ proxy_pass http://newsletter; proxy_http_version 1.1;\n"
        f"      proxy_set_header Connection \"\"; add_header X-Upstream $upstream_addr always; }}\n  }}\n}}\n")
    proc = subprocess.Popen([nginx, "-p", p, "-e", f"{p}/error.log", "-c", f"{p}/nginx.conf"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    wait_for_port(proc, port, "nginx", prefix / "error.log")
    return f"http://127.0.0.1:{port}", proc


def psql(db, sql):
    return subprocess.run(["psql", "-qAt", db, "-c", sql], capture_output=True, text=True, check=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--node-dir", required=True)
    parser.add_argument("--db", required=True)  # postgres://...
    args = parser.parse_args()

    work = pathlib.Path(tempfile.mkdtemp(prefix="keel-newsletter-scale-"))
    mail_dir = work / "mail"
    mail_dir.mkdir()
    procs = []
    try:
        smtp_port, smtp = start_smtp(args.node_dir, mail_dir)
        procs.append(smtp)
        redis_port, redis = start_redis(work)
        procs.append(redis)
        cmd = [os.path.abspath(args.binary), "--db", args.db, "--redis", f"redis://127.0.0.1:{redis_port}",
               "--smtp", f"127.0.0.1:{smtp_port}", "--smtp-security", "none", "--batch-size", "5"]
        a, base_a = start_app(cmd, work, "a.log")
        procs.append(a)
        b, base_b = start_app(cmd, work, "b.log")
        procs.append(b)
        base, nginx = start_nginx(work, [base_a, base_b])
        procs.append(nginx)

        # --- Requests through nginx reach both processes.
        people = [f"reader{i}@example.com" for i in range(SUBSCRIBERS)]
        upstreams = set()
        ids = {}
        for email in people:
            r = request(base, "POST", "/subscribers", {"email": email})
            check(r.status == 201, f"POST /subscribers {email} through nginx: 201 (got {r.status})")
            ids[email] = r.json()["id"]
            upstreams.add(r.headers.get("X-Upstream"))
        check(upstreams == {base_a.removeprefix("http://"), base_b.removeprefix("http://")},
              f"round robin reached both processes {sorted(upstreams)}")

        r = request(base, "POST", "/newsletters", {"subject": "Scale news", "text": "to everyone"})
        check(r.status == 202, f"POST /newsletters through nginx: 202 (got {r.status})")

        # --- Every job exactly once across both processes.
        def all_mail():
            found = mails(mail_dir)
            return found if len(found) >= 2 * SUBSCRIBERS else None

        wait_until(all_mail, f"{2 * SUBSCRIBERS} mails", seconds=90)

        def settled():
            s = request(base, "GET", "/stats/jobs").json()
            return s if s["queued"] == 0 and s["running"] == 0 and s["failed"] == 0 else None

        stats = wait_until(settled, "all jobs done", seconds=60)
        time.sleep(1)  # a duplicate, if there were one, would have arrived by now
        found = mails(mail_dir)
        welcome = sorted(m["rcpt_to"][0] for m in found if m["subject"].startswith("Welcome"))
        news = sorted(m["rcpt_to"][0] for m in found if m["subject"] == "Scale news")
        check(welcome == sorted(people), f"one welcome mail per subscriber ({len(welcome)} for {SUBSCRIBERS})")
        check(news == sorted(people), f"one newsletter mail per subscriber ({len(news)} for {SUBSCRIBERS})")
        check(stats == {"queued": 0, "running": 0, "done": 2 * SUBSCRIBERS + 1, "failed": 0, "dead": 0},
              f"/stats/jobs {stats}")
        rows = psql(args.db, "SELECT count(*), max(attempts), min(attempts) FROM keel_jobs WHERE state = 'done'")
        check(rows == f"{2 * SUBSCRIBERS + 1}|1|1", f"keel_jobs: every job done after exactly one attempt ({rows})")

        # --- The cache in Redis: filled by one process, seen by the other, invalidated through either.
        sid = ids[people[0]]
        key = f"newsletter:subscriber:{sid}"
        redis_get = ["redis-cli", "-p", str(redis_port), "EXISTS", key]
        r_a = request(base_a, "GET", f"/subscribers/{sid}")
        check(subprocess.run(redis_get, capture_output=True, text=True).stdout.strip() == "1",
              "GET through A stored the entry in Redis")
        r_b = request(base_b, "GET", f"/subscribers/{sid}", headers={"If-None-Match": r_a.headers["ETag"]})
        check(r_b.status == 304, "B answers 304 to A's ETag (same cached record)")
        r = request(base_a, "PATCH", f"/subscribers/{sid}", {"email": "moved@example.com"})
        check(r.status == 200, "PATCH through A: 200")
        check(subprocess.run(redis_get, capture_output=True, text=True).stdout.strip() == "0",
              "the PATCH through A erased the Redis entry")
        r_b = request(base_b, "GET", f"/subscribers/{sid}", headers={"If-None-Match": r_a.headers["ETag"]})
        check(r_b.status == 200 and r_b.json()["email"] == "moved@example.com",
              "B serves the new record after A's PATCH")
        check(r_b.headers.get("ETag") not in (None, r_a.headers["ETag"]), "B's ETag changed")

        for p in (a, b):
            p.terminate()
            check(p.wait(timeout=20) == 0, "a newsletter process stops cleanly on SIGTERM")
    except BaseException:
        failures.append("an exception")
        finish(procs, work, ["a.log", "b.log"], "newsletter scale-out")
        raise
    return finish(procs, work, ["a.log", "b.log"], "newsletter scale-out")

if __name__ == "__main__":
    sys.exit(main())
