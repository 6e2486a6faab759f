#!/usr/bin/env python3
"""Checks the built newsletter example end to end (driven by tests/newsletter/run).

Starts, on 127.0.0.1 and free ports: npm smtp-server (tests/smtp_server/server.js, each received mail parsed by
mailparser into a JSON file), a webhook receiver (http.server) that verifies Keel-Signature with Python's hmac
and answers the first delivery 503 (so the webhook job's reschedule runs), and the newsletter binary. Then
every route: 201/409/422, welcome mails and signed webhooks arriving, GET with ETag then 304, PATCH
invalidating the cached entry, a newsletter reaching every subscriber, /stats/jobs, /hooks/incoming 200/401.
A server that cannot be started fails the test.
"""

import argparse
import hashlib
import hmac
import http.server
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SECRET = "whsec-newsletter-test-0123456789"
ADMIN_PASSWORD = "admin-pass-for-the-newsletter-test"
HERE = pathlib.Path(__file__).resolve().parent
SMTP_SERVER = HERE.parent / "smtp_server" / "server.js"

failures = []


def check(condition, what):
    if condition:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}")
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"newsletter: gave up waiting for {what}")


def sign(secret, body, t=None):
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret, header, body):
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts:
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


class Receiver(http.server.BaseHTTPRequestHandler):
    deliveries = []  # (verified, body as JSON, Keel-Webhook-Id, status answered)
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok = verify(SECRET, self.headers.get("Keel-Signature", ""), body)
        with Receiver.lock:
            first = not Receiver.deliveries
            status = 503 if first else (200 if ok else 401)
            Receiver.deliveries.append((ok, json.loads(body), self.headers.get("Keel-Webhook-Id", ""), status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def request(base, method, path, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    h = {"Content-Type": "application/json"} if data is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


def session_cookie(r):
    """The "keel_session=ID" pair of a response's Set-Cookie, or None."""
    for header in r.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        if name.strip() == "keel_session":
            return "keel_session=" + rest.split(";", 1)[0]
    return None


def mails(out_dir):
    found = []
    for f in sorted(pathlib.Path(out_dir).glob("*.json")):
        found.append(json.loads(f.read_text()))
    return found


def wait_for_port(proc, port, what, log_path):
    """Until proc accepts connections on port; its log when it exits first."""
    def up():
        if proc.poll() is not None:
            raise SystemExit(f"newsletter: {what} exited: " + pathlib.Path(log_path).read_text())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    wait_until(up, f"{what} to listen")


def finish(procs, work, logs, name):
    """Kills what still runs; prints the logs on failure (else removes work); returns the exit status."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    if failures:
        for log in logs:
            if (work / log).exists():
                print(f"--- {log}\n" + (work / log).read_text())
        print(f"{name}: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"{name}: all checks passed")
    return 0


def start_smtp(node_dir, mail_dir, port=None):
    """npm smtp-server in plain mode (a local relay) on port (a free one by default); each mail lands in
    mail_dir as JSON."""
    port = port or free_port()
    env = dict(os.environ, NODE_PATH=str(pathlib.Path(node_dir) / "node_modules"))
    smtp = subprocess.Popen(["node", str(SMTP_SERVER), str(port), "plain", str(mail_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = smtp.stdout.readline()
    if "ready" not in line:
        smtp.kill()
        raise SystemExit(f"newsletter: smtp-server did not start: {line}{smtp.stdout.read()}")
    return port, smtp


def start_app(cmd, work, log_name):
    """The newsletter binary (cmd without --port) in work, on a free port; returns it once it listens."""
    port = free_port()
    log_path = work / log_name
    app = subprocess.Popen(cmd + ["--port", str(port)], cwd=work, stdout=open(log_path, "w"),
                           stderr=subprocess.STDOUT)

    wait_for_port(app, port, "the app", log_path)
    return app, f"http://127.0.0.1:{port}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--node-dir", required=True)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()

    work = pathlib.Path(tempfile.mkdtemp(prefix="keel-newsletter-"))
    mail_dir = work / "mail"
    mail_dir.mkdir()
    procs = []
    try:
        smtp_port, smtp = start_smtp(args.node_dir, mail_dir)
        procs.append(smtp)

        # Webhook receiver.
        receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/subscribers"

        # The app, in the work dir (its default database is newsletter.db there).
        cmd = [os.path.abspath(args.binary), "--smtp", f"127.0.0.1:{smtp_port}", "--smtp-security", "none",
               "--webhook", hook_url, "--webhook-secret", SECRET, "--batch-size", "2",
               "--admin-password", ADMIN_PASSWORD]
        if args.db:
            cmd += ["--db", args.db]
        app, base = start_app(cmd, work, "app.log")
        procs.append(app)
        if not args.db:
            check((work / "newsletter.db").exists(), "SQLite by default: newsletter.db in the working directory")

        # --- POST /subscribers: 201, 409, 422.
        people = ["ann@example.com", "bob@example.org", "cy@example.net"]
        subs = {}
        for i, email in enumerate(people):
            r = request(base, "POST", "/subscribers", {"email": email.upper() if i == 0 else email})
            check(r.status == 201, f"POST /subscribers {email}: 201 (got {r.status})")
            body = r.json()
            check(body.get("email") == email and isinstance(body.get("id"), int), f"201 body {body}")
            check(r.headers.get("Location") == f"/subscribers/{body['id']}", "Location header")
            subs[email] = body["id"]
        r = request(base, "POST", "/subscribers", {"email": "Bob@Example.org"})
        check(r.status == 409 and r.json()["error"]["code"] == "conflict", f"existing address: 409 (got {r.status})")
        r = request(base, "POST", "/subscribers", {"email": "not-an-address"})
        check(r.status == 422 and r.json()["error"]["fields"][0]["path"] == "email",
              f"invalid address: 422 naming the field (got {r.status})")

        # --- Welcome mails arrive at the SMTP server, one per subscriber, to its address.
        welcome = wait_until(lambda: [m for m in mails(mail_dir) if m["subject"].startswith("Welcome")]
                             if len([m for m in mails(mail_dir) if m["subject"].startswith("Welcome")]) >= 3
                             else None, "3 welcome mails")
        check(sorted(m["rcpt_to"][0] for m in welcome) == sorted(people), "a welcome mail reached each address")
        for m in welcome:
            check(m["to"][0]["address"] == m["rcpt_to"][0] and m["rcpt_to"][0] in m["text"],
                  f"welcome mail to {m['rcpt_to'][0]} names the subscriber")

        # --- Signed webhooks: the first delivery got 503 and was rescheduled; every event arrives verified.
        def delivered():
            with Receiver.lock:
                ok = [d for d in Receiver.deliveries if d[3] == 200]
            return ok if len(ok) >= 3 else None

        hooks = wait_until(delivered, "3 delivered webhooks")
        check(all(d[0] for d in Receiver.deliveries), "every webhook verified with Python's hmac")
        check(sorted((d[1]["event"], d[1]["id"], d[1]["email"]) for d in hooks) ==
              sorted(("subscriber.created", subs[e], e) for e in people), "webhook bodies: event, id, email")
        retried = Receiver.deliveries[0]
        check(retried[3] == 503 and any(d[1] == retried[1] for d in hooks),
              "the delivery answered 503 was retried and delivered")
        check(all(d[2] == f"subscriber.created:{d[1]['id']}" for d in Receiver.deliveries), "Keel-Webhook-Id")

        # --- GET through the cache with an ETag; If-None-Match -> 304.
        ann = subs["ann@example.com"]
        r = request(base, "GET", f"/subscribers/{ann}")
        etag = r.headers.get("ETag")
        check(r.status == 200 and r.json() == {"id": ann, "email": "ann@example.com"} and etag,
              f"GET /subscribers/{ann}: 200 with an ETag")
        r2 = request(base, "GET", f"/subscribers/{ann}")
        check(r2.status == 200 and r2.headers.get("ETag") == etag and r2.body == r.body, "a second GET: same ETag")
        r = request(base, "GET", f"/subscribers/{ann}", headers={"If-None-Match": etag})
        check(r.status == 304 and r.body == b"" and r.headers.get("ETag") == etag, "If-None-Match: 304")
        check(request(base, "GET", "/subscribers/999999").status == 404, "unknown subscriber: 404")

        # --- PATCH changes the record and invalidates the cache.
        r = request(base, "PATCH", f"/subscribers/{ann}", {"email": "ann.new@example.com"})
        check(r.status == 200 and r.json() == {"id": ann, "email": "ann.new@example.com"}, "PATCH: 200")
        r = request(base, "GET", f"/subscribers/{ann}", headers={"If-None-Match": etag})
        check(r.status == 200 and r.json()["email"] == "ann.new@example.com", "after PATCH: the new body, not 304")
        check(r.headers.get("ETag") not in (None, etag), "after PATCH: a new ETag")
        check(request(base, "PATCH", f"/subscribers/{ann}", {"email": "bob@example.org"}).status == 409,
              "PATCH to a taken address: 409")
        check(request(base, "PATCH", "/subscribers/999999", {"email": "x@example.com"}).status == 404,
              "PATCH unknown: 404")
        check(request(base, "PATCH", f"/subscribers/{ann}", {"email": "bad"}).status == 422, "PATCH invalid: 422")
        people[0] = "ann.new@example.com"

        # --- A newsletter reaches every subscriber (batches of 2 for 3 subscribers).
        r = request(base, "POST", "/newsletters",
                    {"subject": "December news", "text": "Hello, readers.", "html": "<p>Hello, <b>readers</b>.</p>"})
        check(r.status == 202 and r.json()["status"] == "queued", f"POST /newsletters: 202 (got {r.status})")
        check(request(base, "POST", "/newsletters", {"subject": "", "text": "x"}).status == 422,
              "newsletter without a subject: 422")
        news = wait_until(lambda: (lambda n: n if len(n) >= 3 else None)(
            [m for m in mails(mail_dir) if m["subject"] == "December news"]), "3 newsletter mails")
        check(sorted(m["rcpt_to"][0] for m in news) == sorted(people), "the newsletter reached every subscriber")
        check(all("Hello, readers." in m["text"] and "<b>readers</b>" in m["html"] for m in news),
              "newsletter text and html parts")

        # --- /stats/jobs: everything done. 3 welcome + 4 webhook attempts + 1 fan-out + 3 newsletter mails.
        def settled(done):
            s = request(base, "GET", "/stats/jobs").json()
            return s if s["queued"] == 0 and s["running"] == 0 and s["done"] >= done else None

        stats = wait_until(lambda: settled(11), "all jobs done")
        check(stats == {"queued": 0, "running": 0, "done": 11, "failed": 0, "dead": 0}, f"/stats/jobs {stats}")
        time.sleep(0.5)
        check(len(mails(mail_dir)) == 6, "no mail sent twice")

        # --- SMTP server down: the welcome job fails (keel::jobs keeps it for a retry); back up, it arrives.
        smtp.kill()
        smtp.wait()
        r = request(base, "POST", "/subscribers", {"email": "late@example.com"})
        check(r.status == 201, "POST /subscribers while the SMTP server is down: 201")

        def failed_once():
            s = request(base, "GET", "/stats/jobs").json()
            return s if s["failed"] >= 1 else None

        stats = wait_until(failed_once, "the welcome job to fail")
        check(stats["failed"] == 1 and stats["dead"] == 0, f"a failed send waits for its retry: {stats}")
        retry_dir = work / "mail-retry"
        retry_dir.mkdir()
        _, smtp = start_smtp(args.node_dir, retry_dir, smtp_port)
        procs.append(smtp)
        late = wait_until(lambda: mails(retry_dir) or None, "the retried welcome mail", seconds=60)
        check([m["rcpt_to"] for m in late] == [["late@example.com"]], "the retried welcome mail arrived, once")
        stats = wait_until(lambda: settled(13), "the retried job done", seconds=60)
        check(stats == {"queued": 0, "running": 0, "done": 13, "failed": 0, "dead": 0},
              f"/stats/jobs after the retry {stats} (its welcome job and its webhook)")

        # --- /hooks/incoming verifies Keel-Signature with the same secret.
        payload = json.dumps({"event": "ping"}).encode()
        r = request(base, "POST", "/hooks/incoming", payload, {"Keel-Signature": sign(SECRET, payload)})
        check(r.status == 200 and r.json() == {"verified": True, "bytes": len(payload)}, "signed: 200")
        r = request(base, "POST", "/hooks/incoming", payload, {"Keel-Signature": sign("another secret", payload)})
        check(r.status == 401 and r.json()["error"]["status"] == 401, "wrong secret: 401")
        r = request(base, "POST", "/hooks/incoming", payload)
        check(r.status == 401, "unsigned: 401")
        r = request(base, "POST", "/hooks/incoming", payload + b" ", {"Keel-Signature": sign(SECRET, payload)})
        check(r.status == 401, "body changed after signing: 401")

        # --- Admin session (this process's memory store without --redis).
        r = request(base, "POST", "/session", {"name": "ada", "password": "nope"})
        check(r.status == 401 and r.json()["error"]["status"] == 401 and session_cookie(r) is None,
              f"POST /session, wrong password: 401 without a cookie ({r.status})")
        r = request(base, "POST", "/session", {"name": "", "password": ADMIN_PASSWORD})
        check(r.status == 422, f"POST /session without a name: 422 ({r.status})")
        r = request(base, "POST", "/session", {"name": "ada", "password": ADMIN_PASSWORD})
        cookie = session_cookie(r)
        set_cookie = " ".join(r.headers.get_all("Set-Cookie") or [])
        check(r.status == 200 and r.json() == {"name": "ada"} and cookie is not None,
              f"POST /session: 200 with a session cookie ({r.status})")
        check("HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Secure" not in set_cookie,
              f"the cookie is HttpOnly, SameSite=Lax, not Secure over plain HTTP ({set_cookie})")
        jar = {"Cookie": cookie or ""}
        r = request(base, "GET", "/session", headers=jar)
        check(r.status == 200 and r.json() == {"name": "ada"}, f"GET /session with the cookie: 200 ({r.status})")
        check(request(base, "GET", "/session").status == 401, "GET /session without it: 401")
        check(request(base, "GET", "/session", headers={"Cookie": "keel_session=" + "A" * 43}).status == 401,
              "GET /session with a made-up id: 401")
        r = request(base, "DELETE", "/session", headers=jar)
        check(r.status == 200 and "Max-Age=0" in " ".join(r.headers.get_all("Set-Cookie") or []),
              f"DELETE /session: 200, the cookie expired ({r.status})")
        check(request(base, "GET", "/session", headers=jar).status == 401, "the old cookie after sign-out: 401")

        app.send_signal(signal.SIGTERM)
        check(app.wait(timeout=20) == 0, "the app stops cleanly on SIGTERM")
    except BaseException:
        failures.append("an exception")
        finish(procs, work, ["app.log"], "newsletter")
        raise
    return finish(procs, work, ["app.log"], "newsletter")

if __name__ == "__main__":
    sys.exit(main())
