#!/usr/bin/env python3
"""Fills a migrated Conduit database with a benchmark data set (deterministic: seed 42).

  seed.py DB [--users 1000] [--articles 10000] [--password-hash HASH]

DB is a SQLite file, or a postgres:// URL (rows go through `psql` with COPY; the id sequences are moved past
the seeded ids so the API can insert after them).

1,000 users (user0..user999, each following 10 others), 10,000 articles (3 tags each from a pool of 50,
0-5 favorites, 0-3 comments). Rows are written with SQL, not through the API: Argon2id would spend ~16 s on
1,000 registrations. Every user gets HASH as password hash (run.sh registers one user through the API and
copies its hash, so every seeded user can log in with that password).
"""
import argparse
import datetime
import io
import random
import sqlite3
import subprocess


def psql(url, arguments, stdin=None):
    """Runs psql on `url` (the values seeded here need no escaping for COPY's text format)."""
    done = subprocess.run(["psql", url, *arguments], input=stdin, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"seed.py: psql failed: {done.stderr}")
    return done.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=10000)
    ap.add_argument("--password-hash", default="$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    args = ap.parse_args()
    rnd = random.Random(42)
    postgres = args.db.startswith("postgres://") or args.db.startswith("postgresql://")
    if postgres:
        base = int(psql(args.db, ["-tAc", "SELECT coalesce(max(id), 0) FROM users"]).strip())
    else:
        db = sqlite3.connect(args.db)
        db.execute("PRAGMA foreign_keys = ON")
        base = db.execute("SELECT coalesce(max(id), 0) FROM users").fetchone()[0]
    users = [(base + i + 1, f"user{i}", f"user{i}@example.com", args.password_hash, f"bio of user {i}", "")
             for i in range(args.users)]
    ids = [u[0] for u in users]
    follows = set()
    for uid in ids:
        for other in [o for o in rnd.sample(ids, 11) if o != uid][:10]:
            follows.add((uid, other))
    tags = [f"tag{i}" for i in range(50)]
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    articles, article_tags, favorites, comments = [], [], [], []
    for n in range(args.articles):
        aid = n + 1
        when = (start + datetime.timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        articles.append((aid, f"article-{n}", f"Article {n}", f"About article {n}",
                         f"The body of article {n}. " * 20, rnd.choice(ids), when, when))
        for t in rnd.sample(tags, 3):
            article_tags.append((aid, t))
        for uid in rnd.sample(ids, rnd.randint(0, 5)):
            favorites.append((uid, aid))
        for _ in range(rnd.randint(0, 3)):
            comments.append((aid, rnd.choice(ids), f"A comment on article {n}", when, when))
    tables = [
        ("users", "id, username, email, password_hash, bio, image", users),
        ("follow", "follower_id, followee_id", sorted(follows)),
        ("article", "id, slug, title, description, body, author_id, created_at, updated_at", articles),
        ("article_tag", "article_id, tag", article_tags),
        ("favorite", "user_id, article_id", favorites),
        ("comment", "article_id, author_id, body, created_at, updated_at", comments),
    ]
    if postgres:
        script = io.StringIO()
        script.write("\\set ON_ERROR_STOP on\nBEGIN;\n")
        for table, columns, rows in tables:
            script.write(f"COPY {table} ({columns}) FROM STDIN;\n")
            for row in rows:
                script.write("\t".join(str(v) for v in row) + "\n")
            script.write("\\.\n")
        for table in ("users", "article", "article_tag", "comment"):
            script.write(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}));\n")
        # VACUUM sets the visibility map, so counts can be index-only scans (as on a long-running server).
        script.write("COMMIT;\nVACUUM ANALYZE;\n")
        psql(args.db, ["-q"], script.getvalue())
    else:
        for table, columns, rows in tables:
            marks = ",".join("?" * len(columns.split(",")))
            db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        db.commit()
    print(f"seeded {len(users)} users, {len(follows)} follows, {len(articles)} articles, "
          f"{len(article_tags)} tags, {len(favorites)} favorites, {len(comments)} comments")


if __name__ == "__main__":
    main()
