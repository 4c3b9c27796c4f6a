#!/usr/bin/env python3
"""bench/bench.py: the benchmark driver behind bench/run.sh (Python 3 stdlib; matplotlib only for plots).

Runs every scenario for {none, litestream v0.3.13, ours} interleaved N times (the order rotates each
round), takes medians, writes <out>/latest.json, PNG plots into <out>/ and a Markdown report (BENCHMARKS.md
in a full run). Replicator CPU and memory come from /proc/<pid>/stat and /proc/<pid>/status, its disk
writes from /proc/<pid>/io. The load generator is bench/loadgen.c (<build>/bin/bench-loadgen).

Exit status: 0 when the harness worked, whatever the numbers; 1 when it broke (a replicator did not start,
a restore failed or returned wrong data, a load generator failed).
"""
import argparse
import glob
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

KINDS = ["none", "v3", "ours"]
LABEL = {"none": "no replicator", "v3": "Litestream v0.3.13", "ours": "ours", "local": "local file",
         "upstream": "Litestream VFS 0.5.17", "ours-vfs": "our VFS"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
LIVE = []  # replicator processes to kill on any exit


class HarnessError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def kill_all():
    for p in list(LIVE):
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(10)
            except Exception:
                p.kill()
        if p in LIVE:
            LIVE.remove(p)


def on_signal(signum, _frame):
    kill_all()
    sys.exit(128 + signum)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pctl(xs, p):
    xs = sorted(x for x in xs if x is not None and x >= 0)
    if not xs:
        return None
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))]


def run(cmd, env=None, timeout=900, check=True):
    r = subprocess.run(cmd, env=env, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise HarnessError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-800:]}")
    return r


def loadgen(cfg, *args, env=None, timeout=900):
    r = run([cfg.loadgen, *[str(a) for a in args]], env=env, timeout=timeout)
    return json.loads(r.stdout.strip().splitlines()[-1])


def files_of(paths):
    return [f for top in paths
            for f in ([top] if os.path.isfile(top) else [os.path.join(d, n) for d, _, ns in os.walk(top) for n in ns])]


def drop_cache(paths):
    """Evicts files from the page cache (fsync first: only clean pages can be dropped)."""
    for f in files_of(paths):
        try:
            fd = os.open(f, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def settle_cache(paths, cold):
    """Before a timed copy or restore: writes everything dirty back first (a churned database's checkpoint
    writeback would otherwise compete with the timed run), then evicts `paths` (cold) or reads them all into
    the page cache (warm: a restore that drops what it read must not make the next 'warm' run a cold one)."""
    os.sync()
    if cold:
        drop_cache(paths)
        return
    for f in files_of(paths):
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass


def proc_stats(pid):
    s = {}
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        s["cpu_s"] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    s[k] = int(v.split()[0]) / 1024.0  # MiB
                elif k == "Threads":
                    s["threads"] = int(v)
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k == "write_bytes":
                    s["write_bytes"] = int(v)
        s["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, IndexError, ValueError):
        pass
    s["t"] = time.monotonic()
    return s


def files_under(top, pattern):
    return [p for p in glob.glob(os.path.join(top, pattern), recursive=True) if ".tmp" not in os.path.basename(p)]


def snapshot_files(kind, replica):
    return files_under(replica, "ltx/*/*.ltx") if kind == "ours" else files_under(replica, "generations/*/snapshots/*.lz4")


def data_files(kind, replica):
    """The files a commit turns into on the replica: L0 files (ours) or WAL segments (v0.3)."""
    return files_under(replica, "ltx/0/*.ltx") if kind == "ours" else files_under(replica, "generations/*/wal/**/*.lz4")


def bytes_since(top, t0_wall):
    total = 0
    for d, _, fs in os.walk(top):
        for f in fs:
            try:
                st = os.stat(os.path.join(d, f))
            except OSError:
                continue
            if st.st_mtime >= t0_wall:
                total += st.st_size
    return total


class Replicator:
    def __init__(self, cfg, kind, workdir, dbs, interval=None, snapshot_interval=None):
        self.cfg, self.kind, self.workdir, self.dbs = cfg, kind, workdir, dbs
        self.bin = cfg.ours if kind == "ours" else cfg.v3
        self.config = os.path.join(workdir, f"litestream-{kind}.yml")
        self.logpath = os.path.join(workdir, f"litestream-{kind}.log")
        lines = []
        if snapshot_interval and kind == "ours":  # v0.5 layout: one level-9 cadence for every database
            lines += ["snapshot:", f"  interval: {snapshot_interval}"]
        lines.append("dbs:")
        for db, replica in dbs:
            lines.append(f"  - path: {db}")
            if interval:
                lines.append(f"    monitor-interval: {interval}")
            if kind == "ours":
                lines += ["    replica:", "      type: file", f"      path: {replica}"]
                if interval:
                    lines.append(f"      sync-interval: {interval}")
            else:
                lines += ["    replicas:", "      - type: file", f"        path: {replica}"]
                if interval:
                    lines.append(f"        sync-interval: {interval}")
                if snapshot_interval:
                    lines.append(f"        snapshot-interval: {snapshot_interval}")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        self.logf = open(self.logpath, "ab")
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen([self.bin, "replicate", "-config", self.config], stdout=self.logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        LIVE.append(self.proc)
        return self

    def log_tail(self, n=15):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def wait_ready(self, timeout, poll=0.01, need_all=True):
        """Until every replica (or at least one) holds a snapshot; returns seconds since start."""
        deadline = time.monotonic() + timeout
        pending = [r for _, r in self.dbs]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"{LABEL[self.kind]} exited {self.proc.returncode}:\n{self.log_tail()}")
            pending = [r for r in pending if not snapshot_files(self.kind, r)]
            if not pending or (not need_all and len(pending) < len(self.dbs)):
                return time.monotonic() - self.t_start
            time.sleep(poll if len(self.dbs) < 10 else 0.5)
        raise HarnessError(f"{LABEL[self.kind]}: {len(pending)}/{len(self.dbs)} replicas without a snapshot "
                           f"after {timeout:.0f} s:\n{self.log_tail()}")

    def stats(self):
        return proc_stats(self.proc.pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc in LIVE:
            LIVE.remove(self.proc)
        self.logf.close()


def data_dirs(kind, replica):
    if kind == "ours":
        return [os.path.join(replica, "ltx", "0")]
    return [d for d in glob.glob(os.path.join(replica, "generations", "*", "wal", "**"), recursive=True)
            if os.path.isdir(d)]


def data_names(kind, replica):
    names = set()
    for d in data_dirs(kind, replica):
        try:
            with os.scandir(d) as it:
                names.update(os.path.join(d, e.name) for e in it if ".tmp" not in e.name and e.is_file())
        except OSError:
            pass
    return names


def read_bytes(path, offset, n):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(n)
    except OSError:
        return None


def wal_salts(db):
    """The salts of the WAL the application's last commit is in (WAL header bytes 16..24)."""
    return read_bytes(db + "-wal", 16, 8)


def last_data_file(kind, new, salts):
    """The last new file that carries application data. What a replicator writes for itself after the load
    has stopped is not catch-up: for ours, an L0 of a WAL generation newer than the one the application's
    last commit is in (LTX header bytes 64..72 hold the WAL salts: the write after a checkpoint restarted
    the WAL); for v0.3.13, the tiny first segment of a new WAL index (its _litestream_seq write after its
    checkpoint)."""
    new = list(new)
    while new:
        p = new[-1]
        if kind == "ours":
            if salts and read_bytes(p, 64, 8) not in (None, salts):
                new.pop()
                continue
        elif os.path.basename(p).endswith("_00000000.wal.lz4") and os.path.getsize(p) < 2048:
            new.pop()
            continue
        return p
    return None


def wait_caught_up(kind, replica, pid, t_end, quiet, timeout, salts=None):
    """Polls (5 ms) the replica's data files (L0 files for ours, WAL segments for v0.3) from `t_end` on;
    returns the seconds from t_end to the last new file, once no new file has shown up for `quiet` s while
    the replicator used less than 5% of a core (so a replicator still copying a backlog is not "done")."""
    seen = data_names(kind, replica)
    appeared = {}
    deadline = time.monotonic() + timeout
    quiet_from = time.monotonic()
    cpu_hist = []
    while time.monotonic() < deadline:
        st = proc_stats(pid)
        cpu_hist = [x for x in cpu_hist if st["t"] - x[0] <= 0.5] + [(st["t"], st.get("cpu_s", 0.0))]
        busy = len(cpu_hist) > 1 and (cpu_hist[-1][1] - cpu_hist[0][1]) > 0.05 * max(0.1, cpu_hist[-1][0] - cpu_hist[0][0])
        now = data_names(kind, replica)
        if now - seen:
            t = time.time()
            for p in now - seen:
                appeared[p] = t
            quiet_from = time.monotonic()
            seen |= now
        elif busy:
            quiet_from = time.monotonic()
        elif time.monotonic() - quiet_from >= quiet:
            last = last_data_file(kind, sorted(appeared, key=os.path.basename), salts)
            return max(0.0, appeared[last] - t_end) if last else 0.0
        time.sleep(0.005)
    raise HarnessError(f"{LABEL[kind]}: replica still changing after {timeout:.0f} s")


def restore_cmd(cfg, kind, replica, out):
    return [cfg.ours if kind == "ours" else cfg.v3, "restore", "-o", out, f"file://{replica}"]


def db_digest(path):
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return tuple(c.execute("SELECT count(*), total(k) FROM t").fetchone())
    finally:
        c.close()


def fresh_dir(cfg, name):
    d = os.path.join(cfg.work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def big_template(cfg):
    """The big database (big_mib MiB of rows) that sections 4, 4b and 4c copy: filled once per run, in the
    work directory, which the run removes at its end."""
    path = os.path.join(cfg.work, "big-template", "big.db")
    if not os.path.exists(path):
        d = fresh_dir(cfg, "big-template")
        log(f"filling a {cfg.p['big_mib']} MiB database")
        loadgen(cfg, "fill", os.path.join(d, "filling.db"), "--mib", cfg.p["big_mib"], timeout=1800)
        os.rename(os.path.join(d, "filling.db"), path)  # the fill ends with a TRUNCATE checkpoint: no -wal
    return path


def reference_failed(R, what, kind, e):
    """A run whose application the reference made fail (v0.3.13's checkpoint can hold the write lock past the
    load generator's 10 s busy_timeout) is reported and left out of the medians: the reference is measured,
    not debugged. Ours failing is the harness's error."""
    if kind != "v3":
        raise e
    msg = f"{what}: the application beside {LABEL[kind]} failed ({str(e).split(' exited ', 1)[-1]}); round left out"
    R.setdefault("notes", []).append(msg)
    log(msg)


def rotated(kinds, rnd):
    k = rnd % len(kinds)
    return kinds[k:] + kinds[:k]


# ---------------------------------------------------------------------------------------------------
# Scenarios. Each returns {kind: {metric: [one value per round]}}.

def scenario_limits(cfg, R):
    """Physical limits: sequential write bandwidth with fsync, LZ4 speed over database pages."""
    res = {"disk_write_mb_s": [], "lz4_compress_mb_s": [], "lz4_decompress_mb_s": []}
    d = fresh_dir(cfg, "limits")
    block = os.urandom(1 << 20)
    for _ in range(cfg.rounds):
        path = os.path.join(d, "dd")
        t0 = time.monotonic()
        with open(path, "wb") as f:
            for _ in range(cfg.p["disk_mib"]):
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
        res["disk_write_mb_s"].append(cfg.p["disk_mib"] * 1.048576 / (time.monotonic() - t0))
        os.remove(path)
    src = os.path.join(d, "lz4.db")
    loadgen(cfg, "fill", src, "--mib", min(64, cfg.p["big_mib"]))
    for _ in range(cfg.rounds):
        r = loadgen(cfg, "lz4", src, "--mib", 64)
        res["lz4_compress_mb_s"].append(r["compress_mb_s"])
        res["lz4_decompress_mb_s"].append(r["decompress_mb_s"])
    R["limits"] = res


WRITE_MODES = {
    "small": ["--rows", 1, "--payload", 200],
    "bulk": ["--rows", 1000, "--payload", 200],
    "full": ["--rows", 1, "--payload", 200, "--sync", "FULL"],
    # The bulk burst again, with the replicator stopped (SIGSTOP) until it ends: its catch-up time is the
    # replicator's own throughput, not bounded by how fast the application could write beside it.
    "backlog": ["--rows", 1000, "--payload", 200],
}


def scenario_write(cfg, R):
    """1 + 3: write throughput and commit latency with and without a replicator; replicator CPU, RSS,
    local disk writes; the bulk mode is the burst after which catch-up is timed."""
    out = R.setdefault("write", {})
    for mode, margs in WRITE_MODES.items():
        seconds = cfg.p["burst_s"] if mode in ("bulk", "backlog") else cfg.p["write_s"]
        kinds = KINDS if mode != "backlog" else ["v3", "ours"]
        res = out.setdefault(mode, {k: {} for k in kinds})
        for rnd in range(cfg.rounds):
            for kind in rotated(kinds, rnd):
                d = fresh_dir(cfg, f"write-{mode}-{kind}")
                db, replica = os.path.join(d, "app.db"), os.path.join(d, "replica")
                loadgen(cfg, "write", db, "--seconds", 0)  # schema + WAL mode
                rep = None
                m = res[kind]
                if kind != "none":
                    rep = Replicator(cfg, kind, d, [(db, replica)]).start()
                    rep.wait_ready(60)
                    time.sleep(1.0 if mode == "small" else 0.5)
                    if mode == "small":
                        idle0 = rep.stats()
                        time.sleep(2.0)
                        idle1 = rep.stats()
                        m.setdefault("rss_idle_mib", []).append(idle1.get("VmRSS"))
                        m.setdefault("idle_cpu_pct", []).append(
                            100 * (idle1["cpu_s"] - idle0["cpu_s"]) / (idle1["t"] - idle0["t"]))
                    s0 = rep.stats()
                t0_wall = time.time()
                if rep and mode == "backlog":
                    rep.proc.send_signal(signal.SIGSTOP)  # the whole burst waits: pure replication capacity
                failed = None
                try:
                    r = loadgen(cfg, "write", db, "--seconds", seconds, *margs)
                except HarnessError as e:
                    failed = e
                finally:
                    if rep and mode == "backlog":
                        rep.proc.send_signal(signal.SIGCONT)
                if failed:
                    reference_failed(R, f"write/{mode} round {rnd + 1}", kind, failed)
                    rep.stop()
                    shutil.rmtree(d, ignore_errors=True)
                    continue
                t_end = time.time()
                for k in ("tps", "rows_per_s", "p50_us", "p99_us", "max_us", "wal_bytes", "write_bytes"):
                    m.setdefault(k, []).append(r[k])
                m.setdefault("wal_mb_s", []).append(r["wal_bytes"] / 1e6 / r["seconds"])
                if rep:
                    catchup = wait_caught_up(kind, replica, rep.proc.pid, t_end, 1.2 if kind == "ours" else 2.5, 300,
                                             wal_salts(db))
                    s2 = rep.stats()
                    rep.stop()
                    cpu = s2["cpu_s"] - s0["cpu_s"]
                    replica_bytes = bytes_since(replica, t0_wall - 0.01)
                    local = max(0, s2.get("write_bytes", 0) - s0.get("write_bytes", 0) - replica_bytes)
                    m.setdefault("catchup_s", []).append(catchup)
                    m.setdefault("repl_mb_s", []).append(r["wal_bytes"] / 1e6 / (r["seconds"] + catchup))
                    m.setdefault("cpu_s_per_100mb", []).append(cpu / (r["wal_bytes"] / 1e8) if r["wal_bytes"] else None)
                    m.setdefault("rss_peak_mib", []).append(s2.get("VmHWM"))
                    m.setdefault("local_per_wal", []).append((r["write_bytes"] + local) / r["wal_bytes"]
                                                             if r["wal_bytes"] else None)
                    if mode == "backlog":
                        m.setdefault("backlog_mb_s", []).append(r["wal_bytes"] / 1e6 / catchup if catchup else None)
                    m.setdefault("replica_mb", []).append(replica_bytes / 1e6)
                    m.setdefault("replica_files_per_s", []).append(len(data_names(kind, replica)) / r["seconds"])
                else:
                    m.setdefault("local_per_wal", []).append(r["write_bytes"] / r["wal_bytes"] if r["wal_bytes"] else None)
                log(f"write/{mode} round {rnd + 1} {kind}: {r['tps']:.0f} txn/s p99 {r['p99_us']:.0f} us"
                    + (f", catch-up {m['catchup_s'][-1]:.2f} s, {m['cpu_s_per_100mb'][-1] or 0:.2f} CPU-s/100MB"
                       if rep else ""))
                shutil.rmtree(d, ignore_errors=True)


def scenario_lag(cfg, R):
    """2: commit -> new file on the replica, commit -> restorable, one commit at a time."""
    out = R.setdefault("lag", {})
    for label, interval in (("default", None), ("100ms", "100ms")):
        res = out.setdefault(label, {k: {} for k in ("v3", "ours")})
        for rnd in range(cfg.rounds):
            for kind in rotated(["v3", "ours"], rnd):
                d = fresh_dir(cfg, f"lag-{label}-{kind}")
                db, replica, restored = os.path.join(d, "app.db"), os.path.join(d, "replica"), os.path.join(d, "r.db")
                loadgen(cfg, "write", db, "--seconds", 0)
                rep = Replicator(cfg, kind, d, [(db, replica)], interval).start()
                try:
                    rep.wait_ready(60)
                    time.sleep(0.5)
                    cmd = " ".join(restore_cmd(cfg, kind, replica, restored))
                    r = loadgen(cfg, "lag", db, "--replica", replica, "--commits", cfg.p["lag_commits"],
                                "--interval-ms", 300, "--timeout", 10,
                                "--restore-cmd", f"rm -f {restored} {restored}-*; {cmd} >/dev/null 2>&1",
                                "--restored", restored, timeout=600)
                finally:
                    rep.stop()
                if r["misses"]:
                    raise HarnessError(f"lag/{label} {kind}: {r['misses']} commits never reached the replica")
                if any(x < 0 for x in r["restorable_ms"]):
                    raise HarnessError(f"lag/{label} {kind}: a commit never became restorable")
                m = res[kind]
                m.setdefault("file_p50_ms", []).append(pctl(r["file_ms"], 0.5))
                m.setdefault("file_p99_ms", []).append(pctl(r["file_ms"], 0.99))
                m.setdefault("restorable_p50_ms", []).append(pctl(r["restorable_ms"], 0.5))
                m.setdefault("restorable_p99_ms", []).append(pctl(r["restorable_ms"], 0.99))
                m.setdefault("restore_run_ms", []).append(pctl(r["restore_ms"], 0.5))
                m.setdefault("samples_file_ms", []).extend(r["file_ms"])
                log(f"lag/{label} round {rnd + 1} {kind}: file p50 {m['file_p50_ms'][-1]:.1f} ms, "
                    f"restorable p50 {m['restorable_p50_ms'][-1]:.1f} ms")
                shutil.rmtree(d, ignore_errors=True)


def cp_sync(src, dst, cold):
    if os.path.exists(dst):
        os.remove(dst)
    settle_cache([src], cold)
    t0 = time.monotonic()
    run(["cp", src, dst])
    run(["sync", dst])
    return time.monotonic() - t0


def timed_restore(cfg, kind, replica, out, cold):
    for p in (out, out + "-wal", out + "-shm"):
        if os.path.exists(p):
            os.remove(p)
    settle_cache([replica], cold)
    t0 = time.monotonic()
    run(restore_cmd(cfg, kind, replica, out), timeout=1800)
    return time.monotonic() - t0


def scenario_snapshot(cfg, R):
    """4: initial snapshot of a big database, restore cold and warm, restore after heavy churn; the
    baseline is cp + sync of the same file."""
    res = {k: {} for k in ("cp", "v3", "ours")}
    base = fresh_dir(cfg, "snapshot-copies")
    template = big_template(cfg)
    maxid = db_digest(template)[0]
    R["snapshot_db_mib"] = os.path.getsize(template) / 1048576
    for rnd in range(cfg.rounds):
        res["cp"].setdefault("cp_sync_cold_s", []).append(cp_sync(template, os.path.join(base, "copy.db"), True))
        res["cp"].setdefault("cp_sync_warm_s", []).append(cp_sync(template, os.path.join(base, "copy.db"), False))
        os.remove(os.path.join(base, "copy.db"))
        for kind in rotated(["v3", "ours"], rnd):
            d = fresh_dir(cfg, f"snapshot-{kind}")
            db, replica, out = os.path.join(d, "big.db"), os.path.join(d, "replica"), os.path.join(d, "restored.db")
            shutil.copyfile(template, db)
            drop_cache([db])
            m = res[kind]
            rep = Replicator(cfg, kind, d, [(db, replica)]).start()
            try:
                m.setdefault("snapshot_s", []).append(rep.wait_ready(1800, poll=0.005))
                time.sleep(1.5)
                st = rep.stats()
                m.setdefault("rss_idle_mib", []).append(st.get("VmRSS"))
                m.setdefault("rss_peak_mib", []).append(st.get("VmHWM"))
                m.setdefault("restore_cold_s", []).append(timed_restore(cfg, kind, replica, out, True))
                m.setdefault("restore_warm_s", []).append(timed_restore(cfg, kind, replica, out, False))
                if db_digest(out) != db_digest(db):
                    raise HarnessError(f"snapshot {kind}: the restored database differs from the source")
                # Heavy churn: random updates over the whole database, 100 rows a transaction.
                c = loadgen(cfg, "write", db, "--seconds", cfg.p["churn_s"], "--rows", 100, "--payload", 400,
                            "--update", maxid)
                t_end = time.time()
                m.setdefault("churn_catchup_s", []).append(
                    wait_caught_up(kind, replica, rep.proc.pid, t_end, 1.2 if kind == "ours" else 2.5, 600, wal_salts(db)))
                m.setdefault("churn_wal_mb", []).append(c["wal_bytes"] / 1e6)
                m.setdefault("rss_churn_peak_mib", []).append(rep.stats().get("VmHWM"))
            finally:
                rep.stop()
            m.setdefault("replica_files", []).append(sum(len(fs) for _, _, fs in os.walk(replica)))
            m.setdefault("restore_churn_cold_s", []).append(timed_restore(cfg, kind, replica, out, True))
            if db_digest(out) != db_digest(db):
                msg = f"snapshot {kind}: the database restored after churn differs from the source"
                if kind == "ours":
                    raise HarnessError(msg)
                m.setdefault("notes", []).append(msg)
            m.setdefault("churn_cp_sync_cold_s", []).append(cp_sync(db, os.path.join(d, "copy.db"), True))
            log(f"snapshot round {rnd + 1} {kind}: snapshot {m['snapshot_s'][-1]:.2f} s, restore cold "
                f"{m['restore_cold_s'][-1]:.2f} s warm {m['restore_warm_s'][-1]:.2f} s, after churn "
                f"{m['restore_churn_cold_s'][-1]:.2f} s (cp+sync cold {res['cp']['cp_sync_cold_s'][-1]:.2f} s)")
            shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    R["snapshot"] = res


class PeakSize:
    """Samples a file's size every 50 ms on a thread of its own; .peak is the largest seen."""

    def __init__(self, path):
        self.path, self.peak, self.done = path, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.wait(0.05):
            try:
                self.peak = max(self.peak, os.path.getsize(self.path))
            except OSError:
                pass

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.peak


def scenario_snapload(cfg, R):
    """4c: a bulk burst on the big database while each replicator takes its scheduled snapshots of it:
    what the snapshot costs the application (commit latency, throughput) and how far its WAL grows."""
    res = {k: {} for k in KINDS}
    template = big_template(cfg)
    R["snapload_db_mib"] = os.path.getsize(template) / 1048576
    interval = f"{cfg.p['snapload_interval_s']}s"
    for rnd in range(cfg.rounds):
        for kind in rotated(KINDS, rnd):
            d = fresh_dir(cfg, f"snapload-{kind}")
            db, replica = os.path.join(d, "big.db"), os.path.join(d, "replica")
            shutil.copyfile(template, db)
            drop_cache([db])
            m = res[kind]
            rep = None
            try:
                if kind != "none":
                    rep = Replicator(cfg, kind, d, [(db, replica)], snapshot_interval=interval).start()
                    rep.wait_ready(1800)
                    time.sleep(0.5)
                # Level-9 files (ours) or v0.3 snapshots. Ours uploads its first L0 file as the first
                # level-9 file after wait_ready saw that L0: the burst starts once it is there.
                l9 = "ltx/9/*.ltx" if kind == "ours" else "generations/*/snapshots/*.lz4"
                deadline = time.monotonic() + 600
                while rep and not files_under(replica, l9) and time.monotonic() < deadline:
                    time.sleep(0.05)
                before = set(files_under(replica, l9))
                wal = PeakSize(db + "-wal")
                try:
                    r = loadgen(cfg, "write", db, "--seconds", cfg.p["snapload_burst_s"], "--rows", 1000,
                                "--payload", 200)
                except HarnessError as e:
                    reference_failed(R, f"snapload round {rnd + 1}", kind, e)
                    continue
                finally:
                    wal_peak = wal.stop()
                for k in ("tps", "p99_us", "max_us"):
                    m.setdefault(k, []).append(r[k])
                m.setdefault("wal_peak_mb", []).append(wal_peak / 1e6)
                m.setdefault("wal_mb", []).append(r["wal_bytes"] / 1e6)
                taken = len(set(files_under(replica, l9)) - before) if rep else None
                if rep:
                    m.setdefault("snapshots", []).append(taken)
                    if not taken:
                        R.setdefault("notes", []).append(
                            f"snapload round {rnd + 1}: {LABEL[kind]} finished no snapshot during the burst")
                log(f"snapload round {rnd + 1} {kind}: {r['tps']:.0f} txn/s, max {r['max_us'] / 1000:.0f} ms, "
                    f"WAL peak {wal_peak / 1e6:.0f} MB" + (f", {taken} snapshot(s)" if rep else ""))
            finally:
                if rep:
                    rep.stop()
                shutil.rmtree(d, ignore_errors=True)
    R["snapload"] = res


def run_with_rusage(cmd, env=None, timeout=1800):
    """Runs cmd; returns (seconds, peak RSS MiB). The child is reaped with os.wait4 for its own rusage."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    LIVE.append(p)
    deadline = t0 + timeout
    try:
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                raise HarnessError(f"{' '.join(cmd[:3])} timed out after {timeout} s")
            time.sleep(0.01)
    finally:
        if p in LIVE:
            LIVE.remove(p)
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    if p.returncode != 0:
        raise HarnessError(f"{' '.join(cmd[:3])} failed ({p.returncode}):\n{err[-2000:]}")
    return time.monotonic() - t0, ru.ru_maxrss / 1024


def scenario_s3(cfg, R):
    """4b: the initial snapshot and a restore through a real S3 server (Ceph's RADOS Gateway on 127.0.0.1,
    scripts/test-servers/radosgw.sh), with the peak RSS of the replicator and of the restore, for two
    database sizes: memory must not grow with the database."""
    script = os.path.join(cfg.root, "scripts", "test-servers", "radosgw.sh")
    sizes = [cfg.p["s3_small_mib"], cfg.p["big_mib"]]
    res = {str(m): {} for m in sizes}
    templates = {}
    base = fresh_dir(cfg, "s3-templates")
    for mib in sizes:
        if mib == cfg.p["big_mib"]:
            templates[mib] = big_template(cfg)
            continue
        templates[mib] = os.path.join(base, f"db-{mib}.db")
        log(f"s3: filling a {mib} MiB database")
        loadgen(cfg, "fill", templates[mib], "--mib", mib, timeout=1800)
    R["s3_db_mib"] = {str(m): round(os.path.getsize(templates[m]) / 1048576) for m in sizes}
    # The gateway keeps objects in RAM (memstore, 3 GiB) and frees deleted ones late: a fresh cluster per round.
    for rnd in range(cfg.p["s3_rounds"]):
        gw = os.path.join(cfg.work, f"radosgw-{rnd}")
        run([script, "start", gw], timeout=600)
        try:
            env_file = dict(line.strip().split("=", 1) for line in open(os.path.join(gw, "env")) if "=" in line)
            endpoint, bucket = env_file["LITESTREAM_TEST_S3_ENDPOINT"], env_file["LITESTREAM_TEST_S3_BUCKET"]
            key, secret = env_file["LITESTREAM_TEST_S3_ACCESS_KEY"], env_file["LITESTREAM_TEST_S3_SECRET_KEY"]
            env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)

            def s3_config(d, db, path):
                config = os.path.join(d, "litestream.yml")
                with open(config, "w") as f:
                    f.write(f"logging:\n  level: debug\ndbs:\n  - path: {db}\n    replica:\n      type: s3\n"
                            f"      bucket: {bucket}\n      path: {path}\n      endpoint: {endpoint}\n"
                            f"      region: us-east-1\n      force-path-style: true\n"
                            f"      access-key-id: {key}\n      secret-access-key: {secret}\n")
                return config

            # The first object written to a fresh gateway takes seconds (Ceph creates its pools then):
            # replicate a tiny database once to keep that out of the measurements.
            warm = fresh_dir(cfg, "s3-warm-up")
            warm_db = os.path.join(warm, "warm.db")
            loadgen(cfg, "fill", warm_db, "--mib", 16)  # > one 5 MiB part: multipart too
            run([cfg.ours, "replicate", "-once", "-config", s3_config(warm, warm_db, "warm-up")], timeout=300)
            for mib in sizes:
                m = res[str(mib)]
                d = fresh_dir(cfg, f"s3-{mib}")
                db, out, path = os.path.join(d, "db.db"), os.path.join(d, "restored.db"), f"bench-{mib}-{rnd}"
                shutil.copyfile(templates[mib], db)
                drop_cache([db])
                config = s3_config(d, db, path)
                logpath = os.path.join(d, "replicate.log")
                with open(logpath, "wb") as logf:
                    t0 = time.monotonic()
                    p = subprocess.Popen([cfg.ours, "replicate", "-config", config], stdout=logf,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                    LIVE.append(p)
                    try:
                        deadline = t0 + 1800
                        while True:
                            if p.poll() is not None:
                                raise HarnessError(f"s3: replicate exited {p.returncode}:\n{open(logpath).read()[-2000:]}")
                            with open(logpath, errors="replace") as lf:
                                text = lf.read()
                            if "msg=uploaded" in text:
                                break
                            if time.monotonic() > deadline:
                                raise HarnessError(f"s3: no snapshot on S3 after 1800 s:\n{text[-2000:]}")
                            time.sleep(0.01)
                        m.setdefault("snapshot_s", []).append(time.monotonic() - t0)
                        time.sleep(1.5)
                        m.setdefault("replicate_rss_peak_mib", []).append(proc_stats(p.pid).get("VmHWM"))
                    finally:
                        p.send_signal(signal.SIGTERM)
                        try:
                            p.wait(120)
                        except subprocess.TimeoutExpired:
                            p.kill()
                            p.wait()
                        LIVE.remove(p)
                url = f"s3://{bucket}/{path}?endpoint={endpoint}&forcePathStyle=true&region=us-east-1"
                secs, rss = run_with_rusage([cfg.ours, "restore", "-o", out, url], env=env)
                m.setdefault("restore_s", []).append(secs)
                m.setdefault("restore_rss_peak_mib", []).append(rss)
                if db_digest(out) != db_digest(db):
                    raise HarnessError(f"s3 {mib} MiB: the restored database differs from the source")
                log(f"s3 round {rnd + 1}, {mib} MiB: snapshot {m['snapshot_s'][-1]:.2f} s (replicator peak RSS "
                    f"{m['replicate_rss_peak_mib'][-1]:.1f} MiB), restore {secs:.2f} s (peak RSS {rss:.1f} MiB)")
                shutil.rmtree(d, ignore_errors=True)
        finally:
            run([script, "stop", gw], timeout=300, check=False)
    shutil.rmtree(base, ignore_errors=True)
    R["s3"] = res


def find_our_vfs(cfg):
    for pat in ("lib/litestream-vfs.so", "bin/litestream-vfs.so", "**/litestream-vfs.so"):
        hits = glob.glob(os.path.join(cfg.build_dir, pat), recursive=True)
        if hits:
            return hits[0]
    return None


def scenario_vfs(cfg, R):
    """5: read-only access through the VFS extensions over a replica our replicator wrote, against a plain
    local file: open (+ first query), cold and warm point lookups, a 1,000-row range query, a full scan."""
    d = fresh_dir(cfg, "vfs")
    db, replica = os.path.join(d, "src.db"), os.path.join(d, "replica")
    loadgen(cfg, "fill", db, "--mib", cfg.p["vfs_mib"], timeout=1800)
    rep = Replicator(cfg, "ours", d, [(db, replica)]).start()
    try:
        rep.wait_ready(600)
    finally:
        rep.stop()
    targets = {"local": (f"file:{db}?mode=ro", None, None),
               "upstream": ("file:replica.db?vfs=litestream", cfg.upstream_vfs, None)}
    ours = find_our_vfs(cfg)
    if ours:
        targets["ours-vfs"] = ("file:replica.db?vfs=litestream", ours, "sqlite3_litestreamvfs_init")
    else:
        R["notes"].append("our VFS (litestream-vfs.so) is not in the build directory yet: its column is skipped")
        log("vfs: our litestream-vfs.so is not built yet; measuring the upstream VFS and a local file only")
    res = {t: {} for t in targets}
    env = dict(os.environ, LITESTREAM_REPLICA_URL=f"file://{replica}", LITESTREAM_LOG_FILE="/dev/null")
    for rnd in range(cfg.rounds):
        for t in rotated(list(targets), rnd):
            uri, ext, entry = targets[t]
            drop_cache([db if t == "local" else replica])
            args = ["vfs", uri, "--lookups", cfg.p["vfs_lookups"], "--range", 1000, "--seed", rnd + 1]
            if ext:
                args += ["--ext", ext]
            if entry:
                args += ["--entry", entry]
            try:
                r = loadgen(cfg, *args, env=env, timeout=600)
            except HarnessError as e:
                if t == "ours-vfs":  # work in progress elsewhere: report, do not break the harness
                    R["notes"].append(f"our VFS failed: {e}")
                    del targets[t]
                    continue
                raise
            for k in ("open_ms", "cold_p50_us", "cold_p99_us", "warm_p50_us", "warm_p99_us", "range_ms", "scan_ms"):
                res[t].setdefault(k, []).append(r[k])
            log(f"vfs round {rnd + 1} {t}: open {r['open_ms']:.1f} ms, cold {r['cold_p50_us']:.0f} us, warm "
                f"{r['warm_p50_us']:.1f} us, scan {r['scan_ms']:.0f} ms")
    R["vfs"] = {t: v for t, v in res.items() if v}
    R["vfs_db_mib"] = os.path.getsize(db) / 1048576
    shutil.rmtree(d, ignore_errors=True)


def scenario_scale(cfg, R):
    """6: many databases in one replicator process: time until all are replicated, then idle CPU, RSS,
    threads and file descriptors."""
    n = cfg.p["scale_dbs"]
    res = {"v3": {}, "ours": {}}
    for rnd in range(cfg.p["scale_rounds"]):
        for kind in rotated(["v3", "ours"], rnd):
            d = fresh_dir(cfg, f"scale-{kind}")
            dbs = []
            for i in range(n):
                p = os.path.join(d, "dbs", f"db{i:04d}.db")
                os.makedirs(os.path.dirname(p), exist_ok=True)
                c = sqlite3.connect(p)
                c.execute("PRAGMA journal_mode=WAL")
                c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v BLOB)")
                c.execute("INSERT INTO t(k, v) VALUES (1, randomblob(100))")
                c.commit()
                c.close()
                dbs.append((p, os.path.join(d, "replicas", f"db{i:04d}")))
            m = res[kind]
            rep = Replicator(cfg, kind, d, dbs).start()
            try:
                try:
                    m.setdefault("all_replicated_s", []).append(rep.wait_ready(cfg.p["scale_timeout"]))
                except HarnessError as e:
                    if kind == "ours":
                        raise
                    m.setdefault("notes", []).append(str(e).splitlines()[0])
                    m.setdefault("all_replicated_s", []).append(None)
                time.sleep(2.0)
                s0 = rep.stats()
                time.sleep(cfg.p["scale_idle_s"])
                s1 = rep.stats()
                if rep.proc.poll() is not None:
                    raise HarnessError(f"{LABEL[kind]} died with {n} databases:\n{rep.log_tail()}")
                m.setdefault("idle_cpu_pct", []).append(100 * (s1["cpu_s"] - s0["cpu_s"]) / (s1["t"] - s0["t"]))
                m.setdefault("rss_mib", []).append(s1.get("VmRSS"))
                m.setdefault("threads", []).append(s1.get("threads"))
                m.setdefault("fds", []).append(s1.get("fds"))
            except HarnessError as e:
                if kind == "ours":
                    raise
                m.setdefault("notes", []).append(str(e).splitlines()[0])
            finally:
                rep.stop()
            last = {k: (m.get(k) or [None])[-1] for k in ("all_replicated_s", "idle_cpu_pct", "rss_mib", "threads", "fds")}
            last = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in last.items()}
            log(f"scale round {rnd + 1} {kind}: {n} dbs, replicated in {last['all_replicated_s']} s, idle CPU "
                f"{last['idle_cpu_pct']} %, RSS {last['rss_mib']} MiB, threads {last['threads']}, fds {last['fds']}")
            shutil.rmtree(d, ignore_errors=True)
    R["scale"] = res
    R["scale_dbs"] = n


SCENARIOS = [("limits", scenario_limits), ("write", scenario_write), ("lag", scenario_lag),
             ("snapshot", scenario_snapshot), ("snapload", scenario_snapload), ("s3", scenario_s3), ("vfs", scenario_vfs), ("scale", scenario_scale)]

PARAMS = {
    "quick": dict(rounds=1, disk_mib=64, write_s=2, burst_s=2, lag_commits=5, big_mib=32, churn_s=2, snapload_interval_s=2,
                  snapload_burst_s=5, s3_small_mib=8, s3_rounds=1, vfs_mib=16,
                  vfs_lookups=100, scale_dbs=50, scale_rounds=1, scale_idle_s=3, scale_timeout=120),
    "full": dict(rounds=5, disk_mib=512, write_s=5, burst_s=10, lag_commits=20, big_mib=1024, churn_s=10, snapload_interval_s=20,
                 snapload_burst_s=35, s3_small_mib=256, s3_rounds=2,
                 vfs_mib=256, vfs_lookups=200, scale_dbs=1000, scale_rounds=2, scale_idle_s=10, scale_timeout=600),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--out")
    ap.add_argument("--work")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only", help="comma-separated scenarios: " + ",".join(n for n, _ in SCENARIOS))
    ap.add_argument("--report-only", help="re-render the report from an existing latest.json")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a size or duration (see PARAMS), e.g. --set big_mib=256")
    cfg = ap.parse_args()
    cfg.p = dict(PARAMS["quick" if cfg.quick else "full"])
    for kv in cfg.set:
        k, _, v = kv.partition("=")
        if k not in cfg.p:
            ap.error(f"--set: unknown key {k} (one of {', '.join(cfg.p)})")
        cfg.p[k] = type(cfg.p[k])(v)
    if cfg.rounds:
        cfg.p["rounds"] = cfg.rounds
    cfg.rounds = cfg.p["rounds"]
    cfg.out = os.path.abspath(cfg.out or (os.path.join(cfg.build_dir, "bench-quick") if cfg.quick
                                          else os.path.join(cfg.root, "bench", "results")))
    os.makedirs(cfg.out, exist_ok=True)
    md_path = os.path.join(cfg.root, "BENCHMARKS.md") if not cfg.quick and not cfg.only else \
        os.path.join(cfg.out, "BENCHMARKS.md")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import report  # bench/report.py

    if cfg.report_only:
        with open(cfg.report_only) as f:
            R = json.load(f)
        report.write(R, cfg.out, md_path)
        return 0

    cfg.loadgen = os.path.join(cfg.build_dir, "bin", "bench-loadgen")
    cfg.ours = os.path.join(cfg.build_dir, "bin", "litestream")
    tools = os.path.join(cfg.root, ".test-tools", "node_modules")
    cfg.v3 = next(iter(glob.glob(os.path.join(tools, "@flydotio", "litestream-linux-x64", "**", "litestream"),
                                 recursive=True)), "")
    cfg.upstream_vfs = os.path.join(tools, "litestream-vfs-linux-amd64", "litestream-vfs.so")
    for p in (cfg.loadgen, cfg.ours, cfg.v3, cfg.upstream_vfs):
        if not p or not os.path.exists(p):
            print(f"bench: missing {p or 'the v0.3.13 binary'} (scripts/install-reference-tools.sh)", file=sys.stderr)
            return 1
    cfg.work = os.path.abspath(cfg.work or f"/tmp/litestream-bench-{os.getpid()}")
    os.makedirs(cfg.work, exist_ok=True)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    version = run([cfg.ours, "version"], check=False).stdout.strip()
    R = {"mode": "quick" if cfg.quick else "full", "rounds": cfg.rounds, "params": cfg.p,
         "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_before": os.getloadavg(),
         "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                     "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
         "versions": {"ours": version, "v3": "v0.3.13 (npm @flydotio/litestream-linux-x64@1.0.1)",
                      "upstream_vfs": "0.5.17 (npm litestream-vfs-linux-amd64@0.5.17)"},
         "notes": [], "errors": []}
    only = set(cfg.only.split(",")) if cfg.only else None
    t_all = time.monotonic()
    status = 0
    try:
        for name, fn in SCENARIOS:
            if only and name not in only:
                continue
            t0 = time.monotonic()
            log(f"scenario {name}")
            try:
                fn(cfg, R)
            except (HarnessError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
                R["errors"].append(f"{name}: {e}")
                log(f"HARNESS ERROR in {name}: {e}")
                status = 1
            finally:
                kill_all()
            R.setdefault("scenario_seconds", {})[name] = round(time.monotonic() - t0, 1)
    finally:
        kill_all()
        if not cfg.keep:
            shutil.rmtree(cfg.work, ignore_errors=True)
    R["load_after"] = os.getloadavg()
    R["total_seconds"] = round(time.monotonic() - t_all, 1)
    with open(os.path.join(cfg.out, "latest.json"), "w") as f:
        json.dump(R, f, indent=1)
    report.write(R, cfg.out, md_path)
    log(f"done in {R['total_seconds']} s: {cfg.out}/latest.json, {md_path}" + (" (HARNESS ERRORS)" if status else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
