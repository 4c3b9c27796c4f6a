#!/usr/bin/env python3
"""bench/vfs_probe.py: a quick, reproducible measurement of the read-replica VFS alone (BENCHMARKS.md §5).

Builds a database of about --mib MiB with bench-loadgen (same schema and payloads as bench/bench.py's
scenario_vfs), replicates it with `<build>/bin/litestream replicate DB file://REPLICA` until the replica has
its first files, stops the replicator, then, --runs times and in a fresh process each time: evicts the
replica files (or the local database) from the page cache with posix_fadvise(DONTNEED) and runs
`bench-loadgen vfs`, which times open + first query, cold and warm point lookups, a 1,000-row range query
and a full scan. Prints every run and the medians as JSON.

    bench/vfs_probe.py                       # 256 MiB, 5 runs of our VFS and of the local file
    bench/vfs_probe.py --reuse --runs 3      # keep the database and replica of the last call (--work)
    bench/vfs_probe.py --targets ours,upstream,local --mib 64

The work directory (default /tmp/vfs-probe) keeps src.db and replica/ so --reuse can skip the fill.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = ("open_ms", "cold_p50_us", "cold_p99_us", "warm_p50_us", "range_ms", "scan_ms")


def evict(path):
    files = [path] if os.path.isfile(path) else [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def prepare(a, loadgen, litestream):
    db, replica = os.path.join(a.work, "src.db"), os.path.join(a.work, "replica")
    if a.reuse and os.path.exists(db) and glob.glob(os.path.join(replica, "ltx", "*", "*.ltx")):
        return db, replica
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    t = time.monotonic()
    subprocess.run([loadgen, "fill", db, "--mib", str(a.mib)], check=True, stdout=subprocess.DEVNULL)
    print(f"fill: {os.path.getsize(db) / 1048576:.0f} MiB in {time.monotonic() - t:.1f} s", file=sys.stderr)
    log = open(os.path.join(a.work, "replicate.log"), "wb")
    p = subprocess.Popen([litestream, "replicate", db, f"file://{replica}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        while not glob.glob(os.path.join(replica, "ltx", "*", "*.ltx")):
            if p.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"replicate did not produce a file (see {log.name})")
            time.sleep(0.05)
        time.sleep(a.settle)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    files = sorted(glob.glob(os.path.join(replica, "ltx", "*", "*.ltx")))
    print("replica: " + ", ".join(f"{os.path.relpath(f, replica)} ({os.path.getsize(f) >> 10} KiB)" for f in files),
          file=sys.stderr)
    return db, replica


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default="/tmp/vfs-probe")
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lookups", type=int, default=200)
    ap.add_argument("--targets", default="ours,local", help="comma-separated: ours, upstream, local")
    ap.add_argument("--reuse", action="store_true", help="reuse the database and replica in --work")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds the replicator keeps running after its first file")
    ap.add_argument("--uri-params", default="", help="extra URI parameters for the VFS, e.g. cache_size=64MB")
    a = ap.parse_args()
    loadgen = os.path.join(a.build_dir, "bin", "bench-loadgen")
    litestream = os.path.join(a.build_dir, "bin", "litestream")
    db, replica = prepare(a, loadgen, litestream)
    extra = "&" + a.uri_params if a.uri_params else ""
    targets = {
        "local": (f"file:{db}?mode=ro", None, None),
        "ours": (f"file:replica.db?vfs=litestream{extra}", os.path.join(a.build_dir, "lib", "litestream-vfs.so"),
                 "sqlite3_litestreamvfs_init"),
        "upstream": (f"file:replica.db?vfs=litestream{extra}",
                     os.path.join(ROOT, ".test-tools", "node_modules", "litestream-vfs-linux-amd64", "litestream-vfs.so"),
                     None),
    }
    env = dict(os.environ, LITESTREAM_REPLICA_URL=f"file://{replica}", LITESTREAM_LOG_FILE="/dev/null")
    chosen = a.targets.split(",")
    res = {t: {k: [] for k in KEYS} for t in chosen}
    for rnd in range(a.runs):
        for t in chosen[rnd % len(chosen):] + chosen[:rnd % len(chosen)]:
            uri, ext, entry = targets[t]
            evict(db if t == "local" else replica)
            args = [loadgen, "vfs", uri, "--lookups", str(a.lookups), "--range", "1000", "--seed", str(rnd + 1)]
            if ext:
                args += ["--ext", ext]
            if entry:
                args += ["--entry", entry]
            r = json.loads(subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout)
            print(f"run {rnd + 1} {t:8s} " + " ".join(f"{k} {r[k]:.1f}" for k in KEYS), file=sys.stderr)
            for k in KEYS:
                res[t][k].append(r[k])
    med = {t: {k: round(statistics.median(v), 2) for k, v in m.items()} for t, m in res.items()}
    print(json.dumps(med, indent=1))


if __name__ == "__main__":
    sys.exit(main())
