#!/usr/bin/env python3
"""Two newsletter processes behind a real nginx (round robin), sharing one PostgreSQL database and one Redis
(driven by `tests/newsletter/run ... --pg START --scale-out`).

Checks that requests reach both processes, that every job runs exactly once across both (each welcome and
newsletter mail arrives once at the SMTP server, every keel_jobs row is done after one attempt), that a
cache entry invalidated through one process is gone for the other (the Redis key disappears, the other
process answers the new record with a new ETag), and that an admin session created through one process is
valid through the other and through nginx, and signed out everywhere at once.

Then a second pair of processes whose SMTP server answers slowly (each connection waits before its
greeting, so jobs stay running) and whose job lease is 4 s: subscribers are added through nginx (each
acknowledged 201), one process is killed with SIGKILL while it holds running jobs, more subscribers are
added, and every acknowledged subscriber's welcome job must end `done` through the survivor: the killed
process's jobs once their lease ran out (attempt 2), the others after one attempt; one job per idempotency
key; a mail for every acknowledged address, and exactly one for every address the killed process did not
hold.

Last, with `--chat BINARY`: two examples/chat processes sharing the same Redis behind a second nginx that
proxies WebSocket upgrades: two members joined through nginx land on different processes, and a message posted
to either process, or sent over either member's WebSocket, reaches the member of the other.
"""

import argparse
import base64
import hashlib
import json
import os
import pathlib
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

from check import (check, failures, finish, free_port, mails, request, session_cookie, start_app, start_smtp,
                   wait_for_port, wait_until)

SUBSCRIBERS = 24
ADMIN_PASSWORD = "admin-pass-for-the-scale-test"
KILL_BEFORE, KILL_AFTER = 12, 4  # subscribers added before and after the SIGKILL
SLOW_GREETING = 2.0  # seconds the slow SMTP server waits before its 220
JOB_LEASE = 4  # --job-lease of the second pair (seconds)
LOGS = ["a.log", "b.log", "c.log", "d.log", "chat-a.log", "chat-b.log"]


class SlowSmtp(socketserver.ThreadingTCPServer):
    """A plain SMTP relay that waits SLOW_GREETING seconds before greeting each connection, so that a job
    sending a mail stays `running` for that long; records (recipient, subject) of each accepted mail."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.mails = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), SlowSmtpHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]


class SlowSmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        time.sleep(SLOW_GREETING)
        try:
            self.reply("220 slow.test ESMTP")
            rcpt, subject = [], ""
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                verb = line.decode(errors="replace").strip().upper()
                if verb.startswith(("EHLO", "HELO")):
                    self.reply("250 slow.test")
                elif verb.startswith("MAIL FROM"):
                    rcpt, subject = [], ""
                    self.reply("250 OK")
                elif verb.startswith("RCPT TO"):
                    rcpt.append(line.decode().split(":", 1)[1].strip().strip("<>").lower())
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 go on")
                    while True:
                        data = self.rfile.readline()
                        if not data or data in (b".\r\n", b".\n"):
                            break
                        if data.lower().startswith(b"subject:") and not subject:
                            subject = data.decode(errors="replace").split(":", 1)[1].strip()
                    if not data:
                        return
                    with self.server.lock:
                        self.server.mails.extend((r, subject) for r in rcpt)
                    self.reply("250 queued")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("250 OK")
        except OSError:
            return  # the client died (the SIGKILL'd process)


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


def start_nginx(work, upstreams, name="nginx", websocket=False):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    prefix = work / name
    prefix.mkdir()
    p = str(prefix)
    servers = "".join(f"    server {u.removeprefix('http://')};\n" for u in upstreams)
    # A WebSocket proxy passes the upgrade on (RFC 6455 section 4.1 through an HTTP/1.1 proxy).
    connection = ('proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";'
                  if websocket else 'proxy_set_header Connection "";')
    (prefix / "nginx.conf").write_text(
        f"daemon off;\nmaster_process off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n"
        f"events {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n"
        f"  client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n  fastcgi_temp_path {p}/fastcgi;\n"
        f"  uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n"
        f"  upstream newsletter {{\n{servers}  }}\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n"
        f"    location / {{ proxy_pass http://newsletter; proxy_http_version 1.1;\n"
        f"      {connection} add_header X-Upstream $upstream_addr always; }}\n  }}\n}}\n")
    proc = subprocess.Popen([nginx, "-p", p, "-e", f"{p}/error.log", "-c", f"{p}/nginx.conf"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    wait_for_port(proc, port, "nginx", prefix / "error.log")
    return f"http://127.0.0.1:{port}", proc


def psql(db, sql):
    return subprocess.run(["psql", "-qAt", db, "-c", sql], capture_output=True, text=True, check=True).stdout.strip()


def redis_keys(port, pattern):
    out = subprocess.run(["redis-cli", "-p", str(port), "--raw", "KEYS", pattern], capture_output=True,
                         text=True, check=True).stdout
    return [k for k in out.splitlines() if k]


def check_sessions(base, base_a, base_b, redis_port):
    """An admin session created through A is valid through B and nginx; signing out through B ends it on A."""
    r = request(base_a, "POST", "/session", {"name": "ada", "password": "wrong"})
    check(r.status == 401 and session_cookie(r) is None, f"POST /session with a wrong password: 401 ({r.status})")
    check(request(base_b, "GET", "/session").status == 401, "GET /session without a cookie: 401")
    r = request(base_a, "POST", "/session", {"name": "ada", "password": ADMIN_PASSWORD})
    cookie = session_cookie(r)
    check(r.status == 200 and r.json() == {"name": "ada"} and cookie is not None,
          f"POST /session through A: 200 with a session cookie ({r.status})")
    if cookie is None:
        return
    jar = {"Cookie": cookie}

    def on_b():  # the record is written to Redis just after A's response (write-behind): poll briefly
        r = request(base_b, "GET", "/session", headers=jar)
        return r if r.status == 200 else None

    r = wait_until(on_b, "B to see A's session", seconds=10)
    check(r.json() == {"name": "ada"}, f"GET /session through B reads A's session {r.json()}")
    keys = redis_keys(redis_port, "newsletter:session:*")
    check(len(keys) == 1 and cookie.split("=", 1)[1] not in keys[0],
          f"one session record in Redis, its key not the cookie's id ({len(keys)})")
    seen = set()
    for _ in range(4):
        r = request(base, "GET", "/session", headers=jar)
        check(r.status == 200 and r.json() == {"name": "ada"}, f"GET /session through nginx: 200 ({r.status})")
        seen.add(r.headers.get("X-Upstream"))
    check(len(seen) == 2, f"the session was read through both processes behind nginx {sorted(seen)}")
    r = request(base_b, "DELETE", "/session", headers=jar)
    check(r.status == 200, f"DELETE /session through B: 200 ({r.status})")

    def gone_on_a():
        return request(base_a, "GET", "/session", headers=jar).status == 401

    wait_until(gone_on_a, "A to forget the signed-out session", seconds=10)
    check(True, "after signing out through B, A answers 401 to the old cookie")
    check(redis_keys(redis_port, "newsletter:session:*") == [], "the Redis record is gone")


def check_sigkill(args, work, procs, smtp_redis_args):
    """SIGKILL one of two processes while it holds running jobs: every acknowledged job still runs."""
    slow = SlowSmtp()
    cmd = [os.path.abspath(args.binary), "--db", args.db, *smtp_redis_args, "--smtp", f"127.0.0.1:{slow.port}",
           "--smtp-security", "none", "--job-lease", str(JOB_LEASE)]
    c, base_c = start_app(cmd, work, "c.log")
    procs.append(c)
    d, base_d = start_app(cmd, work, "d.log")
    procs.append(d)
    base, nginx = start_nginx(work, [base_c, base_d], "nginx2")
    procs.append(nginx)

    acked = {}  # subscriber id -> address, for every 201

    def add(i):
        email = f"survivor{i}@example.com"
        r = request(base, "POST", "/subscribers", {"email": email})
        check(r.status == 201, f"POST /subscribers {email}: 201 ({r.status})")
        if r.status == 201:
            acked[r.json()["id"]] = email

    for i in range(KILL_BEFORE):
        add(i)

    def held_by_c():
        ids = psql(args.db, f"SELECT id FROM keel_jobs WHERE state = 'running' AND lease LIKE 'w{c.pid}-%'")
        return ids.split() if ids else None

    wait_until(held_by_c, "the first process to hold running jobs", seconds=30)
    c.send_signal(signal.SIGKILL)
    killed = c.wait(timeout=10) == -signal.SIGKILL
    # What it held when it died (its rows cannot change any more; the survivor takes them only after the lease).
    held_keys = psql(args.db, "SELECT unique_key FROM keel_jobs WHERE state = 'running' AND lease LIKE "
                              f"'w{c.pid}-%'").split()
    check(killed and held_keys, f"SIGKILL'd the first process while it held running jobs {held_keys}")
    for i in range(KILL_BEFORE, KILL_BEFORE + KILL_AFTER):
        add(i)  # nginx passes them to the survivor
    check(len(acked) == KILL_BEFORE + KILL_AFTER, f"{len(acked)} subscribers acknowledged")

    keys = ",".join(f"'welcome:{i}'" for i in acked)

    def all_done():
        n = psql(args.db, f"SELECT count(*) FROM keel_jobs WHERE unique_key IN ({keys}) AND state = 'done'")
        return int(n) == len(acked)

    wait_until(all_done, "every acknowledged welcome job done by the survivor", seconds=120)
    rows = psql(args.db, f"SELECT unique_key, attempts FROM keel_jobs WHERE unique_key IN ({keys})").split()
    attempts = dict(row.split("|") for row in rows)
    check(len(rows) == len(acked), f"one job per idempotency key ({len(rows)} rows for {len(acked)} keys)")
    rerun = sorted(k for k in held_keys if k.startswith("welcome:"))
    check(all(int(attempts[k]) >= 2 for k in rerun),
          f"the killed process's jobs ran again after their lease ({[attempts[k] for k in rerun]})")
    others = {k: v for k, v in attempts.items() if k not in held_keys}
    check(all(v == "1" for v in others.values()), f"every other job ran once {sorted(set(others.values()))}")

    time.sleep(1)  # a duplicate mail, if there were one, would have arrived by now
    with slow.lock:
        sent = [rcpt for rcpt, subject in slow.mails if subject.startswith("Welcome")]
    for sid, email in acked.items():
        n = sent.count(email)
        if f"welcome:{sid}" in held_keys:
            check(n >= 1, f"{email} (held by the killed process) got its welcome mail ({n})")
        else:
            check(n == 1, f"{email} got exactly one welcome mail ({n})")

    d.terminate()
    check(d.wait(timeout=20) == 0, "the survivor stops cleanly on SIGTERM")
    slow.shutdown()


class ws_member:
    """A WebSocket client written out here (RFC 6455: handshake, masked text frames out, unmasked frames in),
    so the test needs no client package."""

    def __init__(self, base, path):
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise SystemExit("newsletter: the WebSocket handshake through nginx was cut off")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = lines[0]
        self.headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        self.accepted = self.status.startswith("HTTP/1.1 101") and \
            self.headers.get("sec-websocket-accept") == accept.decode()

    def _take(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def text(self, timeout):
        """The next text message within timeout seconds (control frames skipped), or None."""
        self.sock.settimeout(timeout)
        try:
            while True:
                b0, b1 = self._take(2)
                n = b1 & 0x7F
                if n == 126:
                    n = int.from_bytes(self._take(2), "big")
                elif n == 127:
                    n = int.from_bytes(self._take(8), "big")
                payload = self._take(n)
                if b0 & 0x0F == 1:
                    return payload.decode()
        except (socket.timeout, EOFError):
            return None

    def send_text(self, text):
        data = text.encode()
        mask = os.urandom(4)
        assert len(data) < 126
        self.sock.sendall(bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def heard(self, needle, seconds=2.0):
        """The first message holding needle within seconds, or None."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            line = self.text(left)
            if line is not None and needle in line:
                return line
        return None


def post_chat(base, user, text):
    return request(base, "POST", "/rooms/lobby/messages", {"user": user, "text": text}).status


def check_websocket(chat_binary, work, procs, redis_port):
    """Two chat processes on the same Redis behind a WebSocket-proxying nginx: members of both hear each other."""
    cmd = [os.path.abspath(chat_binary), "--host", "127.0.0.1", "--threads", "1", "--redis",
           f"redis://127.0.0.1:{redis_port}"]
    a, base_a = start_app(cmd, work, "chat-a.log")
    procs.append(a)
    b, base_b = start_app(cmd, work, "chat-b.log")
    procs.append(b)
    base, nginx = start_nginx(work, [base_a, base_b], "nginx-ws", websocket=True)
    procs.append(nginx)

    ann = ws_member(base, "/ws?room=lobby&user=ann")
    bob = ws_member(base, "/ws?room=lobby&user=bob")
    check(ann.accepted and bob.accepted, f"both WebSocket handshakes through nginx: 101 ({ann.status}, {bob.status})")
    on = {ann.headers.get("x-upstream"), bob.headers.get("x-upstream")}
    check(on == {base_a.removeprefix("http://"), base_b.removeprefix("http://")},
          f"nginx put the two members on different processes ({sorted(map(str, on))})")
    by_upstream = {ann.headers.get("x-upstream"): ann, bob.headers.get("x-upstream"): bob}
    member_a = by_upstream.get(base_a.removeprefix("http://"), ann)
    member_b = by_upstream.get(base_b.removeprefix("http://"), bob)

    def reaches(post_to, listener, tag):
        # A process's Redis publisher drops what is published before its connection is up: retry until heard.
        for k in range(50):
            if post_chat(post_to, "carol", f"{tag} {k}") != 202:
                return False
            if listener.heard(f"{tag} {k}", 0.5):
                return True
        return False

    check(reaches(base_a, member_b, "posted to A"), "a message posted to process A reaches a member on B")
    check(reaches(base_b, member_a, "posted to B"), "a message posted to process B reaches a member on A")
    member_a.send_text(json.dumps({"text": "over the socket on A"}))
    line = member_b.heard("over the socket on A", 5)
    check(line is not None, f"a WebSocket message sent on A reaches the member on B ({line})")
    member_b.send_text(json.dumps({"text": "over the socket on B"}))
    check(member_a.heard("over the socket on B", 5) is not None,
          "a WebSocket message sent on B reaches the member on A")
    for p in (a, b):
        p.terminate()
        check(p.wait(timeout=20) == 0, "a chat process stops cleanly on SIGTERM")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--node-dir", required=True)
    parser.add_argument("--db", required=True)  # postgres://...
    parser.add_argument("--chat", required=True)  # examples/chat, for the WebSocket case
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
        shared = ["--redis", f"redis://127.0.0.1:{redis_port}", "--admin-password", ADMIN_PASSWORD]
        cmd = [os.path.abspath(args.binary), "--db", args.db, *shared, "--smtp", f"127.0.0.1:{smtp_port}",
               "--smtp-security", "none", "--batch-size", "5"]
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

        # --- Admin sessions in Redis, shared by both processes.
        check_sessions(base, base_a, base_b, redis_port)

        for p in (a, b):
            p.terminate()
            check(p.wait(timeout=20) == 0, "a newsletter process stops cleanly on SIGTERM")

        # --- SIGKILL one of two processes while it holds running jobs.
        check_sigkill(args, work, procs, shared)

        # --- A WebSocket member of one process hears what is published on the other (Redis hub), via nginx.
        check_websocket(args.chat, work, procs, redis_port)
    except BaseException:
        failures.append("an exception")
        finish(procs, work, LOGS, "newsletter scale-out")
        raise
    return finish(procs, work, LOGS, "newsletter scale-out")

if __name__ == "__main__":
    sys.exit(main())
