#!/usr/bin/env python3
"""The loadable extension inside Python's own sqlite3 module (Debian's, SQLite 3.40): load, query a replica
written by our replicator, keep ordinary databases working, and fail cleanly on a missing replica.

usage: python_load_test.py LITESTREAM_VFS_SO_WITHOUT_SUFFIX LITESTREAM_BIN SQLITE3_SHELL
"""
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest

EXT, LITESTREAM, SHELL = sys.argv[1], sys.argv[2], sys.argv[3]


def shell(db, sql):
    subprocess.run([SHELL, "-batch", db, sql], check=True, capture_output=True, timeout=60)


class PythonLoadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not hasattr(sqlite3.Connection, "enable_load_extension"):
            raise RuntimeError(f"{sys.executable}: this Python's sqlite3 module cannot load extensions")
        loader = sqlite3.connect(":memory:")
        loader.enable_load_extension(True)
        loader.load_extension(EXT)

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vfs-python-")
        self.dir = self.tmp.name
        self.db = os.path.join(self.dir, "app.db")
        self.replica = os.path.join(self.dir, "replica")
        self.config = os.path.join(self.dir, "litestream.yml")
        with open(self.config, "w") as f:
            f.write(f"dbs:\n  - path: {self.db}\n    replica:\n      url: file://{self.replica}\n")

    def tearDown(self):
        self.tmp.cleanup()

    def replicate(self):
        subprocess.run([LITESTREAM, "replicate", "-once", "-config", self.config], check=True, capture_output=True,
                       timeout=120)

    def test_query_replica_and_plain_databases(self):
        shell(self.db, "PRAGMA journal_mode=wal; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
                       "INSERT INTO t (v) VALUES ('x'), ('y'), ('z');")
        self.replicate()
        uri = f"file:app.db?vfs=litestream&replica_url=file://{self.replica}"
        conn = sqlite3.connect(uri, uri=True)
        self.assertEqual(conn.execute("SELECT group_concat(v, '') FROM t").fetchone()[0], "xyz")
        self.assertEqual(len(conn.execute("SELECT litestream_txid()").fetchone()[0]), 16)
        with self.assertRaises(sqlite3.OperationalError):
            conn.execute("INSERT INTO t (v) VALUES ('w')")
        conn.close()
        plain = sqlite3.connect(os.path.join(self.dir, "plain.db"))
        plain.execute("CREATE TABLE p (x)")
        plain.execute("INSERT INTO p VALUES (1)")
        self.assertEqual(plain.execute("SELECT x FROM p").fetchone()[0], 1)

    def test_missing_replica_is_an_error(self):
        with self.assertRaises(sqlite3.OperationalError):
            sqlite3.connect(f"file:none.db?vfs=litestream&replica_url=file://{self.dir}/nothing", uri=True)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
