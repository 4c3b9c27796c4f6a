"""bench/report.py: turns the results of bench/bench.py (latest.json) into BENCHMARKS.md and PNG plots."""
import os
import statistics
import time

LOADED = 1.5  # load average above which the machine counts as busy


def med(xs):
    xs = [x for x in (xs or []) if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, digits=None):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    a = abs(v)
    if digits is None:
        digits = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 0.1 else 3
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def rfmt(r):
    return "—" if r is None else f"{r:.2f}×"


def mark(ok):
    return "" if ok is None else ("✅ pass" if ok else "❌ miss")


def check(value, op, limit):
    if value is None:
        return None
    return value >= limit if op == ">=" else value <= limit


class Table:
    def __init__(self, header):
        self.rows = [header, ["---"] * len(header)]

    def add(self, *cells):
        self.rows.append([c if isinstance(c, str) else fmt(c) for c in cells])

    def md(self):
        return "\n".join("| " + " | ".join(r) + " |" for r in self.rows)


def write_section(R, lines):
    W = R.get("write", {})
    t = Table(["mode", "metric", "no replicator", "v0.3.13", "ours", "v0.3.13 / none", "ours / none",
               "ours / v0.3.13", "goal (ours)", ""])
    names = {"small": "small txns (1 row), saturation", "bulk": "bulk txns (1,000 rows), burst",
             "full": "small txns, synchronous=FULL"}
    for mode in ("small", "bulk", "full"):
        if mode not in W or "none" not in W[mode]:
            continue
        m = {k: {x: med(v) for x, v in W[mode][k].items()} for k in W[mode]}
        for key, label, scale, goal in (("tps", "transactions/s", 1, "tps"), ("p50_us", "commit p50 (µs)", 1, None),
                                        ("p99_us", "commit p99 (µs)", 1, "p99"), ("max_us", "commit max (ms)", 1e-3, "max")):
            vals = [None if m[k].get(key) is None else m[k][key] * scale for k in ("none", "v3", "ours")]
            r_on, r_vn, r_ov = ratio(vals[2], vals[0]), ratio(vals[1], vals[0]), ratio(vals[2], vals[1])
            g, ok = "", None
            if goal == "tps" and mode == "small":
                g, ok = "≥ 0.80× none", check(r_on, ">=", 0.8)
            elif goal == "p99":
                g, ok = "≤ 2× none", check(r_on, "<=", 2.0)
            elif goal == "max":
                g, ok = "≤ 250 ms", check(vals[2], "<=", 250)
            t.add(names[mode] if key == "tps" else "", label, vals[0], vals[1], vals[2], rfmt(r_vn), rfmt(r_on),
                  rfmt(r_ov), g, mark(ok))
    lines += ["## 1. Application writes", "",
              "The same load generator (`bench/loadgen.c`) for all three: `BEGIN IMMEDIATE; INSERT ...; COMMIT` in a "
              "loop, 200-byte half-random rows, `synchronous=NORMAL` unless said. Latency is the whole transaction.", "",
              t.md(), ""]


def lag_section(R, lines):
    L = R.get("lag", {})
    if not L:
        return
    t = Table(["interval", "metric", "v0.3.13", "ours", "ours / v0.3.13", "goal (ours)", ""])
    for label in ("default", "100ms"):
        if label not in L:
            continue
        for key, name in (("file_p50_ms", "commit → file on replica, p50 (ms)"),
                          ("file_p99_ms", "commit → file on replica, p99 (ms)"),
                          ("restorable_p50_ms", "commit → restorable, p50 (ms)"),
                          ("restore_run_ms", "one restore run (ms)")):
            v3, ours = med(L[label]["v3"].get(key)), med(L[label]["ours"].get(key))
            if key == "restore_run_ms":  # shown as: restorable + one restore run = a restored copy in hand
                name = "commit → restored copy in hand, p50 (ms; restorable + one restore run)"
                v3 = None if v3 is None else v3 + (med(L[label]["v3"].get("restorable_p50_ms")) or 0)
                ours = None if ours is None else ours + (med(L[label]["ours"].get("restorable_p50_ms")) or 0)
            g, ok = "", None
            if key == "file_p50_ms" and label == "default":
                g, ok = "≤ 10 ms", check(ours, "<=", 10)
            t.add(label if key == "file_p50_ms" else "", name, v3, ours, rfmt(ratio(ours, v3)), g, mark(ok))
    lines += ["## 2. Replication lag", "",
              "One single-row commit at a time (300 ms apart). *commit → file*: until a new complete file shows up "
              "in the replica directory (inotify, no polling). *commit → restorable*: the start of the first "
              "`litestream restore` (each binary its own) whose output holds the row; restores run back to back, so "
              "the resolution is one restore run. `default` = each tool's defaults (v0.3.13: monitor and sync "
              "interval 1 s; ours: inotify-driven, 1 s fallback poll); `100ms` sets monitor-interval and "
              "sync-interval to 100 ms for both.", "", t.md(), ""]


def resources_section(R, lines):
    W, S = R.get("write", {}), R.get("snapshot", {})
    t = Table(["metric", "v0.3.13", "ours", "ours / v0.3.13", "goal (ours)", ""])

    def row(name, v3, ours, goal="", op=None, limit=None):
        ok = check(ours, op, limit) if op else None
        t.add(name, v3, ours, rfmt(ratio(ours, v3)), goal, mark(ok))

    def w(mode, key, kind):
        return med(W.get(mode, {}).get(kind, {}).get(key))

    for mode, label in (("small", "small txns"), ("full", "synchronous=FULL"), ("bulk", "bulk burst")):
        if mode in W:
            row(f"CPU-s per 100 MB of WAL ({label})", w(mode, "cpu_s_per_100mb", "v3"), w(mode, "cpu_s_per_100mb", "ours"),
                "≤ 0.2", "<=", 0.2)
    for mode, label in (("small", "small txns"), ("full", "synchronous=FULL"), ("bulk", "bulk burst")):
        if mode in W:
            row(f"files written to the replica per second of load ({label})", w(mode, "replica_files_per_s", "v3"),
                w(mode, "replica_files_per_s", "ours"))
    if "small" in W:
        row("RSS idle, small database (MiB)", w("small", "rss_idle_mib", "v3"), w("small", "rss_idle_mib", "ours"),
            "≤ 10", "<=", 10)
        row("idle CPU, one database (%)", w("small", "idle_cpu_pct", "v3"), w("small", "idle_cpu_pct", "ours"))
    for mode, label in (("small", "small txns"), ("bulk", "bulk burst")):
        if mode in W:
            row(f"RSS peak under load, {label} (MiB)", w(mode, "rss_peak_mib", "v3"), w(mode, "rss_peak_mib", "ours"),
                "≤ 32", "<=", 32)
    if S:
        mib = R.get("snapshot_db_mib", 0)
        row(f"RSS idle after snapshot, {mib:,.0f} MiB database (MiB)", med(S["v3"].get("rss_idle_mib")),
            med(S["ours"].get("rss_idle_mib")), "≤ 10", "<=", 10)
        row(f"RSS peak incl. snapshot + churn, {mib:,.0f} MiB database (MiB)", med(S["v3"].get("rss_churn_peak_mib")),
            med(S["ours"].get("rss_churn_peak_mib")), "≤ 32", "<=", 32)
    for mode, label in (("small", "small txns"), ("bulk", "bulk burst")):
        if mode in W:
            base = w(mode, "local_per_wal", "none")
            row(f"local write amplification vs no replicator ({label})", ratio(w(mode, "local_per_wal", "v3"), base),
                ratio(w(mode, "local_per_wal", "ours"), base), "≤ 1.3", "<=", 1.3)
    if "bulk" in W:
        row(f"catch-up after a {R['params']['burst_s']} s bulk burst, replicating alongside (s)",
            w("bulk", "catchup_s", "v3"), w("bulk", "catchup_s", "ours"), "≤ 2", "<=", 2)
        row("WAL replicated during that burst (MB/s, bounded by the application)", w("bulk", "repl_mb_s", "v3"),
            w("bulk", "repl_mb_s", "ours"))
        row("application WAL rate in that burst without a replicator (MB/s)", None, w("bulk", "wal_mb_s", "none"))
    if "backlog" in W:
        row(f"catch-up after a {R['params']['burst_s']} s bulk burst written while the replicator was stopped (s)",
            w("backlog", "catchup_s", "v3"), w("backlog", "catchup_s", "ours"))
        row("replication throughput draining that backlog (MB/s of WAL)", w("backlog", "backlog_mb_s", "v3"),
            w("backlog", "backlog_mb_s", "ours"), "≥ 200", ">=", 200)
    lines += ["## 3. Replicator cost", "",
              "CPU = utime + stime of the replicator process from `/proc/<pid>/stat`, from just before the load to "
              "the moment the replica is caught up, divided by the WAL bytes the application appended (counted by "
              "the load generator's WAL hook). RSS from `/proc/<pid>/status` (VmRSS idle, VmHWM peak). *Local write "
              "amplification*: local disk bytes per WAL byte, (application `write_bytes` + replicator `write_bytes` − "
              "bytes that landed in the replica directory) / WAL bytes, from `/proc/<pid>/io`, divided by the same "
              "for the no-replicator run (which already writes every page twice: WAL, then checkpoint). *Catch-up*: "
              "from the end of the burst to the last new L0 file (ours) or WAL segment (v0.3.13) on the replica "
              "(polled every 5 ms, done once nothing new shows up for 1.2 s, or 2.5 s for v0.3.13 whose sync "
              "interval is 1 s). *Backlog*: the same burst with the replicator stopped by SIGSTOP until it ends; "
              "throughput = WAL bytes / catch-up time, the replicator's own speed.", "", t.md(), ""]


def snapshot_section(R, lines):
    S = R.get("snapshot")
    if not S:
        return
    mib = R.get("snapshot_db_mib", 0)
    cp = {k: med(v) for k, v in S["cp"].items()}
    t = Table(["metric", "cp + sync", "v0.3.13", "ours", "v0.3.13 / cp+sync", "ours / cp+sync", "ours / v0.3.13",
               "goal (ours)", ""])

    def row(name, key, base, goal="", op=None, limit=None):
        v3, ours = med(S["v3"].get(key)), med(S["ours"].get(key))
        b = base if not isinstance(base, str) else med(S["ours"].get(base))
        r = ratio(ours, b)
        t.add(name, b, v3, ours, rfmt(ratio(v3, b if not isinstance(base, str) else med(S["v3"].get(base)))),
              rfmt(r), rfmt(ratio(ours, v3)), goal, mark(check(r if op == "r<=" else ours, "<=", limit) if op else None))

    row("initial snapshot, from process start (s)", "snapshot_s", None, "≤ 1.5 s (1 GiB)", "<=", 1.5)
    row("restore, cold cache (s)", "restore_cold_s", cp.get("cp_sync_cold_s"), "≤ 1.3× cp+sync", "r<=", 1.3)
    row("restore, warm cache (s)", "restore_warm_s", cp.get("cp_sync_warm_s"), "≤ 1.3× cp+sync", "r<=", 1.3)
    row("restore after churn, cold (s)", "restore_churn_cold_s", "churn_cp_sync_cold_s", "≤ 1.3× cp+sync", "r<=", 1.3)
    row("catch-up after the churn (s)", "churn_catchup_s", None)
    row("WAL written by the churn (MB)", "churn_wal_mb", None)
    row("files on the replica after churn", "replica_files", None)
    notes = [n for k in ("v3", "ours") for n in S[k].get("notes", [])]
    lines += [f"## 4. Snapshot and restore ({mib:,.0f} MiB database)", "",
              f"A {mib:,.0f} MiB database (cold in the page cache) gets its first snapshot when the replicator starts "
              "(time until the snapshot file is complete on the replica, process start-up included). Restores are "
              "`litestream restore -o OUT file:///replica` with each tool's own binary, cold (replica files evicted "
              "from the page cache with `posix_fadvise(DONTNEED)`) and warm (every replica file read into the page "
              "cache first); every timed copy or restore starts after a `sync`, so no writeback left by an earlier "
              "step competes with it. *Churn*: "
              f"{R['params']['churn_s']} s of random 100-row UPDATE transactions over the whole table at saturation "
              "while replicating; the restored database is checked against the source (row count and sum). The "
              "baseline is `cp` + `sync` of the same file, cold and warm.", "", t.md(), ""]
    lines += [f"- note: {n}" for n in notes] + ([""] if notes else [])


def snapload_section(R, lines):
    S = R.get("snapload")
    if not S:
        return
    m = {k: {x: med(v) for x, v in S[k].items()} for k in S}
    t = Table(["metric", "no replicator", "v0.3.13", "ours", "v0.3.13 / none", "ours / none", "ours / v0.3.13",
               "goal (ours)", ""])
    for key, label, scale in (("tps", "transactions/s", 1), ("p99_us", "commit p99 (µs)", 1),
                              ("max_us", "commit max (ms)", 1e-3), ("wal_peak_mb", "WAL file, peak (MB)", 1),
                              ("wal_mb", "WAL written by the application (MB)", 1),
                              ("snapshots", "snapshots finished during the burst", 1)):
        vals = [None if m[k].get(key) is None else m[k][key] * scale for k in ("none", "v3", "ours")]
        g, ok = ("≤ 250 ms", check(vals[2], "<=", 250)) if key == "max_us" else ("", None)
        t.add(label, vals[0], vals[1], vals[2], rfmt(ratio(vals[1], vals[0])), rfmt(ratio(vals[2], vals[0])),
              rfmt(ratio(vals[2], vals[1])), g, mark(ok))
    p = R["params"]
    lines += [f"## 4c. Snapshots under a write load ({R.get('snapload_db_mib', 0):,.0f} MiB database)", "",
              f"A {p['snapload_burst_s']} s burst of 1,000-row transactions at saturation on a copy of the section-4 "
              f"database, beside a replicator configured to snapshot every {p['snapload_interval_s']} s (ours: "
              "`snapshot.interval`, level 9, aligned on the clock; v0.3.13: `snapshot-interval`, counted from its "
              "start), started once the first snapshot is on the replica. A snapshot stream pins the WAL: the "
              "application's WAL grows while it runs, and someone has to backfill it afterwards. The WAL file's size "
              "is sampled every 50 ms.", "", t.md(), ""]


def s3_section(R, lines):
    S = R.get("s3")
    if not S:
        return
    sizes = sorted(S, key=int)
    db_mib = R.get("s3_db_mib", {})
    t = Table(["metric"] + [f"{db_mib.get(m, m)} MiB database" for m in sizes] + ["goal", ""])
    file_snap = med((R.get("snapshot", {}).get("ours") or {}).get("snapshot_s"))

    def row(name, key, bounded=False):
        vals = [med(S[m].get(key)) for m in sizes]
        ok = None
        if bounded and all(v is not None for v in vals):
            ok = vals[-1] <= 1.1 * vals[0]  # the biggest database needs no more than the smallest (+10%)
        t.add(name, *vals, "no growth with the database (≤ 1.1×)" if bounded else "", mark(ok))

    row("initial snapshot on S3, from process start (s)", "snapshot_s")
    row("replicator peak RSS during the snapshot (MiB)", "replicate_rss_peak_mib", True)
    row("restore from S3 (s)", "restore_s")
    row("restore peak RSS (MiB)", "restore_rss_peak_mib", True)
    lines += ["## 4b. Snapshot and restore over S3", "",
              "The same replicator and restore against a real S3 server on 127.0.0.1: Ceph's RADOS Gateway "
              "(`scripts/test-servers/radosgw.sh`, objects in RAM, SigV4 verified), a fresh cluster per round. "
              "Snapshots are streamed as multipart uploads and restores read ranged GETs, so peak memory should not "
              "grow with the database: compare the two sizes. The replicator's peak is bounded by part-size × "
              "concurrency (5 MiB × 5) for each upload in flight: the first L0 file and the level-9 snapshot go up "
              "together. Peak RSS is VmHWM of the replicator after its first upload, and the restore process's own "
              "`ru_maxrss`. The restored database is checked against the "
              "source. v0.3.13 is not compared here (its S3 path is not the one under test)."
              + (f" For comparison, the initial snapshot to a file replica took {file_snap:.2f} s (section 4)."
                 if file_snap else ""), "", t.md(), ""]


def vfs_section(R, lines):
    V = R.get("vfs")
    if not V:
        return
    targets = [t for t in ("local", "upstream", "ours-vfs") if t in V]
    head = ["metric"] + [{"local": "local file", "upstream": "Litestream VFS 0.5.17", "ours-vfs": "our VFS"}[t]
                         for t in targets]
    head += ["upstream / local"] + (["ours / local", "ours / upstream"] if "ours-vfs" in V else [])
    t = Table(head)
    for key, name in (("open_ms", "open + first query (ms)"), ("cold_p50_us", "cold point lookup p50 (µs)"),
                      ("cold_p99_us", "cold point lookup p99 (µs)"), ("warm_p50_us", "warm point lookup p50 (µs)"),
                      ("range_ms", "range query, 1,000 rows (ms)"), ("scan_ms", "full scan (ms)")):
        vals = {x: med(V[x].get(key)) for x in targets}
        cells = [vals[x] for x in targets] + [rfmt(ratio(vals.get("upstream"), vals["local"]))]
        if "ours-vfs" in V:
            cells += [rfmt(ratio(vals["ours-vfs"], vals["local"])), rfmt(ratio(vals["ours-vfs"], vals.get("upstream")))]
        t.add(name, *cells)
    lines += [f"## 5. Read replicas: the VFS ({R.get('vfs_db_mib', 0):,.0f} MiB database)", "",
              "A fresh process per run loads the extension into our SQLite 3.52 build and opens `file:replica.db?"
              "vfs=litestream` over a file replica our replicator wrote (`LITESTREAM_REPLICA_URL`); the replica "
              "files are evicted from the page cache first. *Cold* lookups are the first reads of random rows, *warm* "
              "the same rows again. The local file is the same database opened directly.", "", t.md(), ""]
    if "ours-vfs" not in V:
        lines += ["Our VFS (`litestream-vfs.so`) was not in the build directory when this ran: its columns appear "
                  "once it is built.", ""]


def scale_section(R, lines):
    S = R.get("scale")
    if not S:
        return
    n = R.get("scale_dbs")
    t = Table(["metric", "v0.3.13", "ours", "ours / v0.3.13"])
    for key, name in (("all_replicated_s", "time until every database has a snapshot (s)"),
                      ("idle_cpu_pct", "idle CPU (% of one core)"), ("rss_mib", "RSS (MiB)"), ("threads", "threads"),
                      ("fds", "file descriptors")):
        v3, ours = med(S["v3"].get(key)), med(S["ours"].get(key))
        t.add(name, v3, ours, rfmt(ratio(ours, v3)))
    lines += [f"## 6. Scale: {n:,} databases in one process", "",
              f"{n:,} small WAL databases, one `litestream.yml` listing them all with a file replica each. Measured "
              f"after every replica has its snapshot, over {R['params']['scale_idle_s']} s of idleness.", "", t.md(), ""]
    notes = [f"{k}: {x}" for k in ("v3", "ours") for x in S[k].get("notes", [])]
    lines += [f"- note: {x}" for x in notes] + ([""] if notes else [])


def limits_section(R, lines):
    L, S = R.get("limits", {}), R.get("snapshot", {})
    t = Table(["what", "value"])
    if L:
        t.add("sequential write + fsync (MB/s)", med(L.get("disk_write_mb_s")))
        t.add("LZ4 compression, 4 KiB database pages, 1 core (MB/s)", med(L.get("lz4_compress_mb_s")))
        t.add("LZ4 decompression (MB/s)", med(L.get("lz4_decompress_mb_s")))
    if S:
        t.add(f"cp + sync of the {R.get('snapshot_db_mib', 0):,.0f} MiB database, cold (s)", med(S["cp"].get("cp_sync_cold_s")))
        t.add("cp + sync, warm (s)", med(S["cp"].get("cp_sync_warm_s")))
    lines += ["## 0. The machine's limits", "", t.md(), ""]


def plots(R, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return [], "matplotlib is not installed (Debian: python3-matplotlib): no plots"
    made = []
    colors = {"none": "#999999", "v3": "#d62728", "ours": "#1f77b4"}
    names = {"none": "no replicator", "v3": "Litestream v0.3.13", "ours": "ours"}
    W = R.get("write", {})
    if W:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        modes = [m for m in ("small", "bulk", "full") if m in W]
        for i, kind in enumerate(("none", "v3", "ours")):
            vals = [100 * (ratio(med(W[m][kind].get("tps")), med(W[m]["none"].get("tps"))) or 0) for m in modes]
            axes[0].bar([x + (i - 1) * 0.27 for x in range(len(modes))], vals, 0.27, color=colors[kind], label=names[kind])
        axes[0].axhline(80, color="k", ls="--", lw=1, label="goal 80%")
        axes[0].set_xticks(range(len(modes)), modes)
        axes[0].set_ylabel("throughput, % of no replicator")
        axes[0].set_title("Application write throughput")
        axes[0].legend(fontsize=8)
        stats = ("p50_us", "p99_us", "max_us")
        for i, kind in enumerate(("none", "v3", "ours")):
            vals = [(med(W["small"][kind].get(s)) or 0) / 1000 for s in stats] if "small" in W else [0, 0, 0]
            axes[1].bar([x + (i - 1) * 0.27 for x in range(3)], vals, 0.27, color=colors[kind], label=names[kind])
        axes[1].set_yscale("log")
        axes[1].set_xticks(range(3), ["p50", "p99", "max"])
        axes[1].set_ylabel("commit latency (ms, log)")
        axes[1].set_title("Commit latency, small transactions at saturation")
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "writes.png"), dpi=90)
        plt.close(fig)
        made.append(("writes.png", "Write throughput and commit latency"))
    L = R.get("lag", {})
    if L:
        fig, ax = plt.subplots(figsize=(8, 4))
        data, labels, cols = [], [], []
        for label in ("default", "100ms"):
            for kind in ("v3", "ours"):
                if label in L:
                    xs = [x for x in L[label][kind].get("samples_file_ms", []) if x is not None and x >= 0]
                    data.append(xs or [0.001])
                    labels.append(f"{names[kind]}\n{label}")
                    cols.append(colors[kind])
        bp = ax.boxplot(data, patch_artist=True, whis=(0, 100))
        for patch, c in zip(bp["boxes"], cols):
            patch.set_facecolor(c)
        ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=8)
        ax.set_yscale("log")
        ax.axhline(10, color="k", ls="--", lw=1)
        ax.set_ylabel("commit → file on replica (ms, log)")
        ax.set_title("Replication lag (dashed: goal p50 10 ms)")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "lag.png"), dpi=90)
        plt.close(fig)
        made.append(("lag.png", "Replication lag"))
    S = R.get("snapshot")
    if S:
        fig, ax = plt.subplots(figsize=(9, 4))
        groups = [("snapshot", "snapshot_s", None), ("restore cold", "restore_cold_s", "cp_sync_cold_s"),
                  ("restore warm", "restore_warm_s", "cp_sync_warm_s"), ("after churn", "restore_churn_cold_s", None)]
        for gi, (g, key, cpkey) in enumerate(groups):
            base = med(S["cp"].get(cpkey)) if cpkey else med(S["ours"].get("churn_cp_sync_cold_s")) if g == "after churn" else None
            vals = [base, med(S["v3"].get(key)), med(S["ours"].get(key))]
            for i, (v, c) in enumerate(zip(vals, ("#999999", colors["v3"], colors["ours"]))):
                if v is not None:
                    ax.bar(gi + (i - 1) * 0.27, v, 0.27, color=c, label=["cp + sync", names["v3"], "ours"][i] if gi == 1 else None)
        ax.set_xticks(range(len(groups)), [g for g, _, _ in groups])
        ax.set_ylabel("seconds")
        ax.set_title(f"Snapshot and restore, {R.get('snapshot_db_mib', 0):,.0f} MiB database")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "snapshot_restore.png"), dpi=90)
        plt.close(fig)
        made.append(("snapshot_restore.png", "Snapshot and restore"))
    if W and "small" in W:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
        metrics = (("cpu_s_per_100mb", "CPU-s per 100 MB WAL", 0.2), ("rss_peak_mib", "RSS peak under load (MiB)", 32),
                   ("local_per_wal", "local write amplification vs none", 1.3))
        for ax, (key, title, goal) in zip(axes, metrics):
            modes = [m for m in ("small", "bulk") if m in W]
            for i, kind in enumerate(("v3", "ours")):
                vals = [med(W[m][kind].get(key)) or 0 for m in modes]
                if key == "local_per_wal":
                    vals = [v / (med(W[m]["none"].get(key)) or 1) for v, m in zip(vals, modes)]
                ax.bar([x + (i - 0.5) * 0.35 for x in range(len(modes))], vals, 0.35, color=colors[kind], label=names[kind])
            ax.axhline(goal, color="k", ls="--", lw=1)
            ax.set_xticks(range(len(modes)), modes)
            ax.set_title(title, fontsize=10)
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "resources.png"), dpi=90)
        plt.close(fig)
        made.append(("resources.png", "Replicator cost (dashed: goal)"))
    return made, None


def write(R, out, md_path):
    made, plot_note = plots(R, out)
    lb, la = R.get("load_before", [0, 0, 0]), R.get("load_after", [0, 0, 0])
    loaded = lb[0] > LOADED  # the load after includes the benchmark's own last scenario (1,000 databases)
    lines = ["# Benchmarks", "",
             f"Generated by `bench/run.sh{' --quick' if R.get('mode') == 'quick' else ''}` on {R.get('started', '?')} "
             f"({R.get('total_seconds', '?')} s). Medians of {R.get('rounds')} interleaved round(s); the order of "
             "the contenders rotates every round. Do not edit by hand: run `bench/run.sh` (see bench/README.md).", "",
             f"- machine: {R['machine']['cpus']} CPUs, {R['machine']['mem_gib']} GiB RAM, Linux {R['machine']['kernel']}; "
             f"load average before {lb[0]:.2f}, after {la[0] if la else 0:.2f}",
             f"- ours: `{R['versions']['ours']}`; reference: Litestream {R['versions']['v3']}, Litestream VFS "
             f"{R['versions']['upstream_vfs']}",
             "- every replica is a local file replica on the same disk as the databases, except in section 4b (S3)", ""]
    if loaded:
        lines += [f"> **The machine was loaded during this run** (load average above {LOADED}: other jobs were "
                  "compiling on the same 2 cores). Absolute numbers are noisy and pessimistic; ratios between "
                  "interleaved runs are more trustworthy than the absolute values.", ""]
    if R.get("mode") == "quick":
        lines += ["> Quick mode: one round, small sizes. It checks that the harness works; its numbers are not "
                  "meaningful.", ""]
    for e in R.get("errors", []):
        lines.append(f"> **harness error**: {e}")
    for n in R.get("notes", []):
        lines.append(f"> note: {n}")
    if R.get("errors") or R.get("notes"):
        lines.append("")
    limits_section(R, lines)
    write_section(R, lines)
    lag_section(R, lines)
    resources_section(R, lines)
    snapshot_section(R, lines)
    s3_section(R, lines)
    snapload_section(R, lines)
    vfs_section(R, lines)
    scale_section(R, lines)
    if made:
        rel = os.path.relpath(out, os.path.dirname(md_path))
        lines += ["## Plots", ""] + [f"![{title}]({rel}/{f})" for f, title in made] + [""]
    elif plot_note:
        lines += [f"_{plot_note}_", ""]
    secs = R.get("scenario_seconds", {})
    if secs:
        lines += ["Time per scenario (s): " + ", ".join(f"{k} {v:,.0f}" for k, v in secs.items()) + ".", ""]
    lines += ["Raw numbers (every round): " + f"`{os.path.relpath(os.path.join(out, 'latest.json'), os.path.dirname(md_path))}`.", ""]
    with open(md_path, "w") as f:
        f.write("\n".join(lines))
    return md_path


if __name__ == "__main__":  # pragma: no cover
    print("use bench/run.sh", time.time())
