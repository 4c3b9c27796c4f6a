#!/usr/bin/env python3
"""The example application end to end: its Litestream config is saved age-encrypted into its own database,
it replicates from it with its own logger, acknowledged writes survive kill -9 and a restore on a new path.

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
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    app_bin, litestream = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="http-app-")
    app = None
    try:
        db, key, replica = os.path.join(work, "app.db"), os.path.join(work, "key.txt"), os.path.join(work, "replica")
        log = os.path.join(work, "app.log")
        subprocess.run(["age-keygen", "-o", key], check=True, capture_output=True)
        with open(os.path.join(work, "litestream.yml"), "w") as f:
            f.write(f"dbs:\n  - path: {db}\n    replica:\n      type: file\n      path: {replica}\n")
        subprocess.run([litestream, "config", "save", "-age-key", key, "-db", db, "-file",
                        os.path.join(work, "litestream.yml")], check=True, capture_output=True)

        port = free_port()
        app = subprocess.Popen([app_bin, "-db", db, "-age-key", key, "-addr", f"127.0.0.1:{port}", "-log", log],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        line = app.stdout.readline().decode()
        assert line.startswith("listening"), f"the app did not start: {line}{app.stdout.read().decode()}"

        acknowledged = []
        deadline = time.monotonic() + 120
        for i in range(150):
            assert time.monotonic() < deadline, "writes took too long"
            req = urllib.request.Request(f"http://127.0.0.1:{port}/items", data=f"item {i}".encode(), method="POST")
            with urllib.request.urlopen(req, timeout=15) as resp:
                assert resp.status == 201, resp.status
                acknowledged.append(json.loads(resp.read())["id"])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/items/count", timeout=15) as resp:
            assert json.loads(resp.read())["count"] == len(acknowledged)

        app.send_signal(signal.SIGKILL)  # no final sync: only what was acknowledged counts
        app.wait(30)

        restored = os.path.join(work, "elsewhere", "restored.db")
        os.makedirs(os.path.dirname(restored))
        subprocess.run([litestream, "restore", "-o", restored, f"file://{replica}"], check=True, capture_output=True)
        con = sqlite3.connect(restored)
        ids = {row[0] for row in con.execute("SELECT id FROM items")}
        con.close()
        missing = [i for i in acknowledged if i not in ids]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:10]}"

        with open(log) as f:
            records = [json.loads(l) for l in f if l.strip()]
        msgs = {r["msg"] for r in records}
        assert all(r.get("app") == "http_app" for r in records), "a log line bypassed the app's logger"
        assert "replicating" in msgs and "listening" in msgs, f"the app's log lacks the service's lines: {msgs}"
        print(f"ok: {len(acknowledged)} acknowledged writes restored after kill -9; {len(records)} log lines "
              f"through the app's logger")
        return 0
    finally:
        if app and app.poll() is None:
            app.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
