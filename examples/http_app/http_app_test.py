#!/usr/bin/env python3
"""The example application end to end: its Litestream config is saved age-encrypted into its own database,
it replicates from it with its own logger, and every write it acknowledged is on the replica:
- after kill -9 (no final sync), restored on a new path;
- after a restart on the same database and a graceful SIGTERM, restored again.

usage: http_app_test.py HTTP_APP LITESTREAM
"""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

WRITERS, WRITES_PER_WRITER = 4, 40


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_app(app_bin, db, key, log):
    port = free_port()
    app = subprocess.Popen([app_bin, "-db", db, "-age-key", key, "-addr", f"127.0.0.1:{port}", "-log", log],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    line = app.stdout.readline().decode()  # "listening on ..." once replication is under way
    if not line.startswith("listening"):
        app.kill()
        raise AssertionError(f"the app did not start: {line}{app.stdout.read().decode()}")
    return app, port


def post_items(port, count, tag, acknowledged, errors, lock):
    deadline = time.monotonic() + 120
    for i in range(count):
        if time.monotonic() > deadline:
            with lock:
                errors.append("writes took too long")
            return
        req = urllib.request.Request(f"http://127.0.0.1:{port}/items", data=f"{tag} {i}".encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = json.loads(resp.read())
                with lock:
                    if resp.status == 201:
                        acknowledged.append(body["id"])
                    else:
                        errors.append(f"status {resp.status}")
        except (urllib.error.URLError, OSError) as e:
            with lock:
                errors.append(str(e))


def write_concurrently(port, writers, per_writer, tag):
    acknowledged, errors, lock = [], [], threading.Lock()
    threads = [threading.Thread(target=post_items, args=(port, per_writer, f"{tag}-{w}", acknowledged, errors, lock))
               for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert not errors, f"requests failed: {errors[:5]}"
    assert len(acknowledged) == writers * per_writer
    return acknowledged


def get_count(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/items/count", timeout=15) as resp:
        return json.loads(resp.read())["count"]


def restored_ids(litestream, replica, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    out = subprocess.run([litestream, "restore", "-o", path, f"file://{replica}"], capture_output=True, timeout=120)
    assert out.returncode == 0, f"restore failed: {out.stderr.decode()}"
    con = sqlite3.connect(path)
    try:
        return {row[0] for row in con.execute("SELECT id FROM items")}
    finally:
        con.close()


def main():
    app_bin, litestream = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="http-app-")
    app = None
    try:
        db, key, replica = os.path.join(work, "app.db"), os.path.join(work, "key.txt"), os.path.join(work, "replica")
        log = os.path.join(work, "app.log")
        subprocess.run(["age-keygen", "-o", key], check=True, capture_output=True, timeout=60)
        with open(os.path.join(work, "litestream.yml"), "w") as f:
            f.write(f"dbs:\n  - path: {db}\n    replica:\n      type: file\n      path: {replica}\n")
        subprocess.run([litestream, "config", "save", "-age-key", key, "-db", db, "-file",
                        os.path.join(work, "litestream.yml")], check=True, capture_output=True, timeout=60)

        # 1. Concurrent writers, then kill -9: no final sync, only what was acknowledged counts.
        app, port = start_app(app_bin, db, key, log)
        acknowledged = write_concurrently(port, WRITERS, WRITES_PER_WRITER, "first")
        assert get_count(port) == len(acknowledged)
        app.send_signal(signal.SIGKILL)
        app.wait(30)
        ids = restored_ids(litestream, replica, os.path.join(work, "elsewhere", "restored.db"))
        missing = [i for i in acknowledged if i not in ids]
        assert not missing, f"{len(missing)} acknowledged writes lost after kill -9: {missing[:10]}"

        # 2. Restart on the same database (its config is still in it), write, stop with SIGTERM.
        app, port = start_app(app_bin, db, key, log)
        more = write_concurrently(port, 2, 10, "second")
        app.send_signal(signal.SIGTERM)
        rc = app.wait(60)
        assert rc == 0, f"graceful shutdown exited {rc}: {app.stdout.read().decode()}"
        ids = restored_ids(litestream, replica, os.path.join(work, "elsewhere", "restored-2.db"))
        missing = [i for i in acknowledged + more if i not in ids]
        assert not missing, f"{len(missing)} acknowledged writes lost after SIGTERM: {missing[:10]}"

        # Every line, the service's included, went through the application's logger.
        with open(log) as f:
            records = [json.loads(line) for line in f if line.strip()]
        assert all(r.get("app") == "http_app" for r in records), "a log line bypassed the app's logger"
        msgs = [r["msg"] for r in records]
        for want in ("replicating", "listening", "shutting down", "litestream service stopped", "stopped"):
            assert want in msgs, f"the app's log lacks {want!r}: {sorted(set(msgs))}"
        assert msgs.count("replicating") >= 2, "one 'replicating' line per start"
        replicating = [r for r in records if r["msg"] == "replicating"]
        assert all(r.get("db") == db and replica in r.get("replica", "") for r in replicating), replicating
        print(f"ok: {len(acknowledged)} acknowledged writes restored after kill -9, {len(more)} more after SIGTERM; "
              f"{len(records)} log lines through the app's logger")
        return 0
    finally:
        if app and app.poll() is None:
            app.kill()
            app.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
