#!/usr/bin/env python3
"""The C API (include/litestream/litestream.h) driven from Python's ctypes: proves liblitestream.so is usable
from another language. The service runs inside this Python process; the application's writes come from a
separate sqlite3 shell process (two SQLite libraries in one process would break each other's POSIX locks,
see docs/library.md).

usage: ctypes_test.py LIBLITESTREAM_SO SQLITE3_SHELL
"""
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest

LIB_PATH, SHELL = sys.argv[1], sys.argv[2]
lib = ctypes.CDLL(LIB_PATH)

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p)
Err = ctypes.POINTER(ctypes.c_char_p)
lib.litestream_version.restype = ctypes.c_char_p
lib.litestream_free.argtypes = [ctypes.c_void_p]
lib.litestream_service_new.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, LOG_FN, ctypes.c_void_p,
                                       ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
lib.litestream_service_new_from_config_db.argtypes = [ctypes.c_char_p, ctypes.c_char_p, LOG_FN, ctypes.c_void_p,
                                                      ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                                                      ctypes.POINTER(ctypes.c_void_p)]
lib.litestream_service_start.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
lib.litestream_service_stop.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p)]
lib.litestream_service_free.argtypes = [ctypes.c_void_p]
lib.litestream_sync.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int64,
                                ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64),
                                ctypes.POINTER(ctypes.c_void_p)]
lib.litestream_wait_replicated.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int64,
                                           ctypes.POINTER(ctypes.c_void_p)]
lib.litestream_status_json.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
                                       ctypes.POINTER(ctypes.c_void_p)]
lib.litestream_restore.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_char_p, ctypes.c_int,
                                   ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_void_p)]
lib.litestream_register.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.litestream_unregister.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]

NOT_FOUND, INVALID_ARGUMENT, TIMEOUT, FAILED_PRECONDITION = 1, 4, 8, 11


class LiteStreamError(Exception):
    def __init__(self, code, message):
        super().__init__(f"litestream error {code}: {message}")
        self.code = code
        self.message = message


def take_string(ptr):
    """Copies a malloc'ed C string returned by the library and releases it."""
    if not ptr.value:
        return ""
    text = ctypes.string_at(ptr.value).decode()
    lib.litestream_free(ptr)
    return text


def call(fn, *args):
    err = ctypes.c_void_p()
    rc = fn(*args, ctypes.byref(err))
    if rc != 0:
        raise LiteStreamError(rc, take_string(err))


def sql(db, statement):
    out = subprocess.run([SHELL, "-batch", "-cmd", ".timeout 5000", db, statement], capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"sqlite3 {statement!r}: {out.stderr}")
    return out.stdout.strip()


class Service:
    def __init__(self, yaml, flags=0, config_db=None, age_key=None):
        self.lines = []
        self.lock = threading.Lock()

        def on_log(_user, level, message, fields):
            with self.lock:
                self.lines.append((level, message.decode(), json.loads(fields.decode())))

        self._log_fn = LOG_FN(on_log)  # keep a reference: the library calls it from its threads
        self.handle = ctypes.c_void_p()
        if config_db:  # the encrypted config store in the application's database
            call(lib.litestream_service_new_from_config_db, config_db.encode(), age_key.encode(), self._log_fn, None,
                 1, ctypes.byref(self.handle))
            return
        data = yaml.encode()
        call(lib.litestream_service_new, data, len(data), flags, self._log_fn, None, 1, ctypes.byref(self.handle))

    def start(self):
        call(lib.litestream_service_start, self.handle)

    def stop(self, timeout_ms=10000):
        call(lib.litestream_service_stop, self.handle, timeout_ms)

    def sync(self, db, wait_upload=True, timeout_ms=30000):
        txid, replicated = ctypes.c_uint64(), ctypes.c_uint64()
        call(lib.litestream_sync, self.handle, db.encode(), 1 if wait_upload else 0, timeout_ms, ctypes.byref(txid),
             ctypes.byref(replicated))
        return txid.value, replicated.value

    def status(self, db=None):
        out = ctypes.c_void_p()
        call(lib.litestream_status_json, self.handle, db.encode() if db else None, ctypes.byref(out))
        return json.loads(take_string(out))

    def free(self):
        lib.litestream_service_free(self.handle)
        self.handle = ctypes.c_void_p()


class CApiTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="capi-test-")
        self.dir = self.tmp.name
        self.db = os.path.join(self.dir, "app.db")
        self.replica_url = "file://" + os.path.join(self.dir, "replica")
        self.yaml = (f"dbs:\n  - path: {self.db}\n    monitor-interval: 50ms\n    replica:\n"
                     f"      url: {self.replica_url}\n      sync-interval: 50ms\n")

    def tearDown(self):
        self.tmp.cleanup()

    def test_version(self):
        self.assertRegex(lib.litestream_version().decode(), r"^\d+\.\d+\.\d+")

    def test_replicate_acknowledge_and_restore(self):
        sql(self.db, "PRAGMA journal_mode=wal; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);")
        service = Service(self.yaml)
        try:
            service.start()
            txids = []
            for i in range(5):
                sql(self.db, f"INSERT INTO t (v) VALUES ('row {i}');")
                txid, replicated = service.sync(self.db)
                self.assertGreaterEqual(replicated, txid)
                txids.append(txid)
            self.assertEqual(txids, sorted(txids))
            status = service.status(self.db)
            self.assertEqual(status["path"], self.db)
            self.assertTrue(status["in_sync"])
            self.assertEqual(int(status["local_txid"], 16), txids[-1])
            self.assertEqual(len(service.status()), 1)
            call(lib.litestream_wait_replicated, service.handle, self.db.encode(), txids[-1], 1000)
            with self.assertRaises(LiteStreamError) as ctx:
                call(lib.litestream_wait_replicated, service.handle, self.db.encode(), txids[-1] + 100, 100)
            self.assertEqual(ctx.exception.code, TIMEOUT)
            service.stop()
        finally:
            service.free()
        with service.lock:
            messages = [m for _, m, _ in service.lines]
            replicating = [f for _, m, f in service.lines if m == "replicating"]
        self.assertIn("litestream service stopped", messages)
        self.assertEqual(replicating[0]["db"], self.db)

        restored = os.path.join(self.dir, "restored.db")
        restored_txid = ctypes.c_uint64()
        call(lib.litestream_restore, self.replica_url.encode(), restored.encode(), 0, None, 0x8,
             ctypes.byref(restored_txid))
        self.assertEqual(restored_txid.value, txids[-1])
        self.assertEqual(sql(restored, "SELECT count(*) FROM t"), "5")

        # Point in time: the TXID of the third acknowledged write.
        at_third = os.path.join(self.dir, "third.db")
        call(lib.litestream_restore, self.replica_url.encode(), at_third.encode(), txids[2], None, 0, None)
        self.assertEqual(sql(at_third, "SELECT count(*) FROM t"), "3")

    def test_service_from_the_encrypted_config_in_the_database(self):
        key, yml = os.path.join(self.dir, "key.txt"), os.path.join(self.dir, "litestream.yml")
        subprocess.run(["age-keygen", "-o", key], check=True, capture_output=True, timeout=60)
        with open(yml, "w") as f:
            f.write(self.yaml)
        sql(self.db, "PRAGMA journal_mode=wal; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);")
        litestream = os.path.join(os.path.dirname(SHELL), "litestream")
        subprocess.run([litestream, "config", "save", "-age-key", key, "-db", self.db, "-file", yml], check=True,
                       capture_output=True, timeout=60)
        service = Service(None, config_db=self.db, age_key=key)
        try:
            service.start()
            sql(self.db, "INSERT INTO t (v) VALUES ('configured from the database');")
            txid, replicated = service.sync(self.db)
            self.assertGreaterEqual(replicated, txid)
            service.stop()
        finally:
            service.free()
        with service.lock:
            self.assertTrue(any(m == "replicating" for _, m, _ in service.lines), service.lines)
        restored = os.path.join(self.dir, "restored.db")
        call(lib.litestream_restore, self.replica_url.encode(), restored.encode(), 0, None, 0, None)
        self.assertEqual(sql(restored, "SELECT v FROM t"), "configured from the database")

    def test_errors_are_codes_with_messages(self):
        handle = ctypes.c_void_p()
        bad = b"dbs: [\n"
        with self.assertRaises(LiteStreamError) as ctx:
            call(lib.litestream_service_new, bad, len(bad), 0, LOG_FN(), None, -1, ctypes.byref(handle))
        self.assertEqual(ctx.exception.code, INVALID_ARGUMENT)
        self.assertTrue(ctx.exception.message)

        env_ref = f"dbs:\n  - path: ${{HOME}}/x.db\n    replica:\n      url: {self.replica_url}\n".encode()
        with self.assertRaises(LiteStreamError) as ctx:
            call(lib.litestream_service_new, env_ref, len(env_ref), 2, LOG_FN(), None, -1, ctypes.byref(handle))
        self.assertEqual(ctx.exception.code, INVALID_ARGUMENT)

        with self.assertRaises(LiteStreamError) as ctx:  # the encrypted config store: no such key file
            call(lib.litestream_service_new_from_config_db, self.db.encode(),
                 os.path.join(self.dir, "missing-key.txt").encode(), LOG_FN(), None, -1, ctypes.byref(handle))
        self.assertEqual(ctx.exception.code, NOT_FOUND)
        self.assertIn("missing-key.txt", ctx.exception.message)

        with self.assertRaises(LiteStreamError) as ctx:
            call(lib.litestream_restore, self.replica_url.encode(), os.path.join(self.dir, "x.db").encode(), 0, None,
                 0, None)
        self.assertIn("no", ctx.exception.message.lower())

        service = Service("dbs: []\n")
        try:
            with self.assertRaises(LiteStreamError) as ctx:
                service.sync(self.db)
            self.assertEqual(ctx.exception.code, FAILED_PRECONDITION)  # not started
            service.start()
            with self.assertRaises(LiteStreamError) as ctx:
                service.sync(self.db)
            self.assertEqual(ctx.exception.code, NOT_FOUND)
            sql(self.db, "PRAGMA journal_mode=wal; CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x');")
            call(lib.litestream_register, service.handle, self.db.encode(), self.replica_url.encode())
            txid, replicated = service.sync(self.db)
            self.assertGreaterEqual(replicated, txid)
            call(lib.litestream_unregister, service.handle, self.db.encode())
            service.stop()
        finally:
            service.free()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
