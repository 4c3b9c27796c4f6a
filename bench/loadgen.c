/* bench/loadgen.c: the one load generator of bench/run.sh, the same for every replicator it compares.
 *
 *   loadgen write DB [--seconds S] [--rows N] [--payload B] [--sync normal|full] [--rate TPS] [--update MAXID]
 *       Transactions of N rows (INSERT, or UPDATE of random ids in [1,MAXID]) for S seconds, at saturation
 *       (rate 0) or paced. Prints one JSON object: throughput, commit latency p50/p99/max (whole
 *       BEGIN..COMMIT), WAL bytes appended (counted with a WAL hook that also does SQLite's autocheckpoint)
 *       and the process's write_bytes from /proc/self/io. With --slow-ms MS, every transaction slower
 *       than MS is reported on stderr: BEGIN wait, statements, COMMIT, and of the COMMIT the time its
 *       autocheckpoint took and the frames it backfilled (a replicator's read mark decides how many).
 *   loadgen fill DB --mib M [--payload B]
 *       Creates table t and fills it to about M MiB with 1,000-row transactions.
 *   loadgen lag DB --replica DIR --commits N [--interval-ms I] [--restore-cmd CMD --restored PATH]
 *       N single-row commits, one at a time. After each: the time until a new complete file shows up under
 *       DIR (inotify: IN_MOVED_TO or IN_CLOSE_WRITE of a name not ending in .tmp), then, with a restore
 *       command, the time until a restore started at that moment returns the row (restores back to back).
 *   loadgen lz4 FILE [--mib M]
 *       LZ4 block compression and decompression speed over 4 KiB pages of FILE (single thread).
 *   loadgen vfs URI [--ext LIB] [--lookups N] [--range R] [--seed S]
 *       Read-only open through URI (a VFS loaded from LIB when given): open + first query, cold and warm
 *       point lookups, one range query and a full scan.
 *
 * Schema: t(id INTEGER PRIMARY KEY, k INTEGER, v BLOB); payloads are half random, half repeated bytes, so
 * LZ4 gets about 2:1 as on typical application data. Times are CLOCK_MONOTONIC.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lz4.h>
#include <poll.h>
#include <stdalign.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char* what, const char* detail) {
  fprintf(stderr, "loadgen: %s: %s\n", what, detail ? detail : "");
  exit(1);
}

static void exec_sql(sqlite3* db, const char* sql) {
  char* err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) die(sql, err);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

static void fill_payload(unsigned char* p, int n) {
  int half = n / 2;
  for (int i = 0; i < half; i += 8) {
    uint64_t r = rnd();
    memcpy(p + i, &r, (size_t)(half - i < 8 ? half - i : 8));
  }
  for (int i = half; i < n; i++) p[i] = (unsigned char)("litestream-bench"[i % 16]);
}

static long long proc_io(const char* key) {
  FILE* f = fopen("/proc/self/io", "r");
  if (!f) return -1;
  char line[256];
  long long v = -1;
  size_t kl = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, kl) == 0 && line[kl] == ':') v = atoll(line + kl + 1);
  fclose(f);
  return v;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static double pct(double* v, long n, double p) {
  if (n == 0) return 0;
  long i = (long)(p * (double)(n - 1) + 0.5);
  return v[i];
}

/* ---- WAL accounting: SQLite's default autocheckpoint plus a count of the frames appended. */
static long long wal_frames = 0;
static int wal_last = 0;
/* The autocheckpoint of the current commit: its time and the frames it backfilled (for --slow-ms). */
static double ckpt_ms = 0;
static int ckpt_frames = 0, ckpt_backfilled = 0;
static int wal_hook(void* arg, sqlite3* db, const char* name, int nframe) {
  (void)arg;
  wal_frames += nframe >= wal_last ? nframe - wal_last : nframe;
  wal_last = nframe;
  if (nframe >= 1000) {
    int log = 0, copied = 0;
    double t0 = now_s();
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    ckpt_ms = (now_s() - t0) * 1e3;
    ckpt_frames = copied >= ckpt_backfilled ? copied - ckpt_backfilled : copied;  /* the WAL restarted */
    ckpt_backfilled = copied;
  }
  return SQLITE_OK;
}

static sqlite3* open_rw(const char* path, const char* sync) {
  sqlite3* db = NULL;
  if (sqlite3_open(path, &db) != SQLITE_OK) die("open", sqlite3_errmsg(db));
  sqlite3_busy_timeout(db, 10000);
  exec_sql(db, "PRAGMA journal_mode=WAL");
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", sync);
  exec_sql(db, sql);
  exec_sql(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, k INTEGER, v BLOB)");
  sqlite3_wal_hook(db, wal_hook, NULL);
  return db;
}

static const char* arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 0; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}

static int cmd_write(const char* path, int argc, char** argv) {
  double seconds = atof(arg(argc, argv, "--seconds", "5"));
  int rows = atoi(arg(argc, argv, "--rows", "1"));
  int payload = atoi(arg(argc, argv, "--payload", "200"));
  const char* sync = arg(argc, argv, "--sync", "normal");
  double rate = atof(arg(argc, argv, "--rate", "0"));
  long long update_max = atoll(arg(argc, argv, "--update", "0"));
  double slow_ms = atof(arg(argc, argv, "--slow-ms", "0"));  /* > 0: report slower transactions on stderr */
  rng_state ^= (uint64_t)getpid() * 0x100000001B3ull;
  sqlite3* db = open_rw(path, sync);
  sqlite3_stmt* st = NULL;
  const char* sql = update_max > 0 ? "UPDATE t SET k=k+1, v=?1 WHERE id=?2" : "INSERT INTO t(k, v) VALUES (?2, ?1)";
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die("prepare", sqlite3_errmsg(db));
  unsigned char* buf = malloc((size_t)payload + 8);
  long cap = 1 << 16, n = 0;
  double* lat = malloc(sizeof(double) * (size_t)cap);
  long long wb0 = proc_io("write_bytes");
  double start = now_s(), end = start + seconds, next = start;
  long long first_id = -1, last_id = -1;
  while (now_s() < end) {
    if (rate > 0) {
      double t = now_s();
      if (t < next) {
        struct timespec ts = {0, (long)((next - t) * 1e9)};
        nanosleep(&ts, NULL);
      }
      next += 1.0 / rate;
    }
    double t0 = now_s();
    exec_sql(db, "BEGIN IMMEDIATE");
    double t_begun = now_s();
    for (int r = 0; r < rows; r++) {
      fill_payload(buf, payload);
      sqlite3_bind_blob(st, 1, buf, payload, SQLITE_STATIC);
      sqlite3_bind_int64(st, 2, update_max > 0 ? (long long)(rnd() % (uint64_t)update_max) + 1 : (long long)(rnd() % 1000000));
      if (sqlite3_step(st) != SQLITE_DONE) die("step", sqlite3_errmsg(db));
      sqlite3_reset(st);
    }
    double t_commit = now_s();
    ckpt_ms = 0;
    ckpt_frames = 0;
    exec_sql(db, "COMMIT");
    double t1 = now_s();
    if (slow_ms > 0 && (t1 - t0) * 1e3 > slow_ms) {
      struct timespec wall;
      clock_gettime(CLOCK_REALTIME, &wall);
      fprintf(stderr,
              "slow txn at %ld.%03ld: begin %.1f ms, statements %.1f ms, commit %.1f ms (of it autocheckpoint %.1f ms, "
              "%d frames backfilled)\n",
              (long)wall.tv_sec, wall.tv_nsec / 1000000, (t_begun - t0) * 1e3, (t_commit - t_begun) * 1e3,
              (t1 - t_commit) * 1e3, ckpt_ms, ckpt_frames);
    }
    if (update_max == 0) {
      last_id = sqlite3_last_insert_rowid(db);
      if (first_id < 0) first_id = last_id - rows + 1;
    }
    if (n == cap) {
      cap *= 2;
      lat = realloc(lat, sizeof(double) * (size_t)cap);
    }
    lat[n++] = (t1 - t0) * 1e6;
  }
  double elapsed = now_s() - start;
  long long wb1 = proc_io("write_bytes");
  int page_size = 4096;
  sqlite3_stmt* ps = NULL;
  if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &ps, NULL) == SQLITE_OK && sqlite3_step(ps) == SQLITE_ROW)
    page_size = sqlite3_column_int(ps, 0);
  sqlite3_finalize(ps);
  sqlite3_finalize(st);
  sqlite3_close(db);
  qsort(lat, (size_t)n, sizeof(double), cmp_double);
  printf("{\"txns\": %ld, \"rows\": %ld, \"seconds\": %.4f, \"tps\": %.1f, \"rows_per_s\": %.1f, "
         "\"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, \"wal_bytes\": %lld, \"write_bytes\": %lld, "
         "\"first_id\": %lld, \"last_id\": %lld}\n",
         n, n * rows, elapsed, (double)n / elapsed, (double)(n * rows) / elapsed, pct(lat, n, 0.5), pct(lat, n, 0.99),
         n ? lat[n - 1] : 0.0, wal_frames * (long long)(page_size + 24), wb1 - wb0, first_id, last_id);
  free(lat);
  free(buf);
  return 0;
}

static int cmd_fill(const char* path, int argc, char** argv) {
  double mib = atof(arg(argc, argv, "--mib", "32"));
  int payload = atoi(arg(argc, argv, "--payload", "400"));
  sqlite3* db = open_rw(path, "off");
  sqlite3_stmt* st = NULL;
  if (sqlite3_prepare_v2(db, "INSERT INTO t(k, v) VALUES (?2, ?1)", -1, &st, NULL) != SQLITE_OK)
    die("prepare", sqlite3_errmsg(db));
  unsigned char* buf = malloc((size_t)payload + 8);
  long long target = (long long)(mib * 1048576.0), rows = 0;
  for (;;) {
    struct stat sb;
    if (stat(path, &sb) == 0 && sb.st_size >= target) break;
    exec_sql(db, "BEGIN");
    for (int r = 0; r < 1000; r++) {
      fill_payload(buf, payload);
      sqlite3_bind_blob(st, 1, buf, payload, SQLITE_STATIC);
      sqlite3_bind_int64(st, 2, (long long)(rnd() % 1000000));
      if (sqlite3_step(st) != SQLITE_DONE) die("step", sqlite3_errmsg(db));
      sqlite3_reset(st);
    }
    exec_sql(db, "COMMIT");
    rows += 1000;
  }
  sqlite3_finalize(st);
  exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
  printf("{\"rows\": %lld}\n", rows);
  free(buf);
  return 0;
}

/* ---- lag: inotify over a directory tree. */
#define MAX_WATCH 4096
static char* watch_path[MAX_WATCH];
static int watch_fd = -1;

static int is_tmp(const char* name) {
  size_t n = strlen(name);
  return name[0] == '.' || (n >= 4 && strcmp(name + n - 4, ".tmp") == 0) || strstr(name, ".tmp") != NULL;
}

static void add_watch_tree(const char* dir) {
  int wd = inotify_add_watch(watch_fd, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
  if (wd < 0 || wd >= MAX_WATCH) return;
  if (!watch_path[wd]) watch_path[wd] = strdup(dir);
  DIR* d = opendir(dir);
  if (!d) return;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat sb;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) add_watch_tree(p);
  }
  closedir(d);
}

/* Waits until a new complete file appears under the watched tree; returns seconds waited or -1. */
static double wait_new_file(double t_commit, double timeout) {
  alignas(struct inotify_event) char buf[16384];
  for (;;) {
    double left = t_commit + timeout - now_s();
    if (left <= 0) return -1;
    struct pollfd pfd = {watch_fd, POLLIN, 0};
    int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
    if (pr <= 0) continue;
    ssize_t len = read(watch_fd, buf, sizeof buf);
    if (len <= 0) continue;
    double t = now_s();
    int found = 0;
    for (char* p = buf; p < buf + len;) {
      struct inotify_event* ev = (struct inotify_event*)p;
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->len == 0) continue;
      if (ev->mask & IN_ISDIR) {
        if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->wd >= 0 && ev->wd < MAX_WATCH && watch_path[ev->wd]) {
          char np[PATH_MAX];
          snprintf(np, sizeof np, "%s/%s", watch_path[ev->wd], ev->name);
          add_watch_tree(np);
        }
        continue;
      }
      if ((ev->mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) && !is_tmp(ev->name)) found = 1;
    }
    if (found) return t - t_commit;
  }
}

static int restored_has(const char* path, long long id) {
  sqlite3* db = NULL;
  int found = 0;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
    sqlite3_stmt* st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM t WHERE id=?1", -1, &st, NULL) == SQLITE_OK) {
      sqlite3_bind_int64(st, 1, id);
      found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return found;
}

static void print_array(const char* name, double* v, int n) {
  printf("\"%s\": [", name);
  for (int i = 0; i < n; i++) printf("%s%.3f", i ? ", " : "", v[i]);
  printf("]");
}

static int cmd_lag(const char* path, int argc, char** argv) {
  const char* replica = arg(argc, argv, "--replica", NULL);
  int commits = atoi(arg(argc, argv, "--commits", "10"));
  double interval = atof(arg(argc, argv, "--interval-ms", "200")) / 1000.0;
  double timeout = atof(arg(argc, argv, "--timeout", "10"));
  const char* restore_cmd = arg(argc, argv, "--restore-cmd", NULL);
  const char* restored = arg(argc, argv, "--restored", NULL);
  if (!replica) die("lag", "--replica is required");
  watch_fd = inotify_init1(IN_CLOEXEC);
  if (watch_fd < 0) die("inotify_init1", strerror(errno));
  add_watch_tree(replica);
  sqlite3* db = open_rw(path, "normal");
  double* file_ms = calloc((size_t)commits, sizeof(double));
  double* rest_ms = calloc((size_t)commits, sizeof(double));
  double* rest_dur = calloc((size_t)commits, sizeof(double));
  unsigned char buf[200];
  int misses = 0, n = 0;
  for (int i = 0; i < commits; i++, n++) {
    /* Drain events from earlier activity (compaction, the previous commit's stragglers). */
    char drain[16384];
    int fl = fcntl(watch_fd, F_GETFL);
    fcntl(watch_fd, F_SETFL, fl | O_NONBLOCK);
    while (read(watch_fd, drain, sizeof drain) > 0) {
    }
    fcntl(watch_fd, F_SETFL, fl);
    fill_payload(buf, sizeof buf);
    sqlite3_stmt* st = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO t(k, v) VALUES (?2, ?1)", -1, &st, NULL);
    sqlite3_bind_blob(st, 1, buf, sizeof buf, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, i);
    if (sqlite3_step(st) != SQLITE_DONE) die("step", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    double t_commit = now_s();
    long long id = sqlite3_last_insert_rowid(db);
    double w = wait_new_file(t_commit, timeout);
    file_ms[i] = w < 0 ? -1 : w * 1000;
    if (w < 0) misses++;
    rest_ms[i] = -1;
    if (restore_cmd && restored) {
      while (now_s() - t_commit < timeout) {
        double rs = now_s();
        if (system(restore_cmd) != 0) {
          /* a failed attempt is just "not restorable yet" */
        }
        double re = now_s();
        if (restored_has(restored, id)) {
          rest_ms[i] = (rs - t_commit) * 1000;
          rest_dur[i] = (re - rs) * 1000;
          break;
        }
      }
    }
    double left = t_commit + interval - now_s();
    if (left > 0) {
      struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
      nanosleep(&ts, NULL);
    }
  }
  sqlite3_close(db);
  printf("{\"commits\": %d, \"misses\": %d, ", n, misses);
  print_array("file_ms", file_ms, n);
  printf(", ");
  print_array("restorable_ms", rest_ms, n);
  printf(", ");
  print_array("restore_ms", rest_dur, n);
  printf("}\n");
  return 0;
}

static int cmd_lz4(const char* path, int argc, char** argv) {
  double mib = atof(arg(argc, argv, "--mib", "64"));
  FILE* f = fopen(path, "rb");
  if (!f) die("open", path);
  /* The pages go through one 1 MiB window, as a replicator's pooled buffers take them: over buffers as big
   * as the input, a machine whose memory is slow to map (a host that lends it page by page) measures its
   * page faults, not LZ4. Only the compression and decompression calls are timed. */
  enum { kWindowPages = 256 };
  static unsigned char window[kWindowPages * 4096];
  static char page[4096];
  int bound = LZ4_compressBound(4096);
  char* out = malloc((size_t)bound * kWindowPages);
  int sizes[kWindowPages];
  size_t want = (size_t)(mib * 1048576.0), total_in = 0, total_out = 0;
  double compress_s = 0, decompress_s = 0;
  while (total_in < want) {
    size_t got = fread(window, 1, sizeof(window), f);
    size_t pages = got / 4096;
    if (pages == 0) break;
    double t0 = now_s();
    for (size_t i = 0; i < pages; i++) {
      sizes[i] = LZ4_compress_default((const char*)window + i * 4096, out + i * (size_t)bound, 4096, bound);
      total_out += (size_t)sizes[i];
    }
    double t1 = now_s();
    for (size_t i = 0; i < pages; i++)
      if (LZ4_decompress_safe(out + i * (size_t)bound, page, sizes[i], 4096) != 4096) die("lz4", "decompress");
    decompress_s += now_s() - t1;
    compress_s += t1 - t0;
    total_in += pages * 4096;
  }
  fclose(f);
  if (total_in == 0) die("lz4", "input too small");
  printf("{\"bytes\": %zu, \"ratio\": %.3f, \"compress_mb_s\": %.1f, \"decompress_mb_s\": %.1f}\n", total_in,
         (double)total_in / (double)total_out, (double)total_in / 1e6 / compress_s,
         (double)total_in / 1e6 / decompress_s);
  free(out);
  return 0;
}

static int cmd_vfs(const char* uri, int argc, char** argv) {
  const char* ext = arg(argc, argv, "--ext", NULL);
  int lookups = atoi(arg(argc, argv, "--lookups", "100"));
  int range = atoi(arg(argc, argv, "--range", "1000"));
  rng_state ^= (uint64_t)atoll(arg(argc, argv, "--seed", "1")) * 0x100000001B3ull;
  if (ext && *ext) {
    sqlite3* mem = NULL;
    sqlite3_open(":memory:", &mem);
    sqlite3_enable_load_extension(mem, 1);
    char* err = NULL;
    const char* entry = arg(argc, argv, "--entry", NULL);
    if (sqlite3_load_extension(mem, ext, entry, &err) != SQLITE_OK) die("load_extension", err);
    sqlite3_close(mem);
  }
  double t0 = now_s();
  sqlite3* db = NULL;
  if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
    die("open", sqlite3_errmsg(db));
  sqlite3_stmt* st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT max(id) FROM t", -1, &st, NULL) != SQLITE_OK) die("prepare", sqlite3_errmsg(db));
  if (sqlite3_step(st) != SQLITE_ROW) die("max(id)", sqlite3_errmsg(db));
  long long maxid = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  double open_ms = (now_s() - t0) * 1000;
  if (maxid < 1) die("vfs", "empty table");
  long long* ids = malloc(sizeof(long long) * (size_t)lookups);
  for (int i = 0; i < lookups; i++) ids[i] = (long long)(rnd() % (uint64_t)maxid) + 1;
  double* cold = malloc(sizeof(double) * (size_t)lookups);
  double* warm = malloc(sizeof(double) * (size_t)lookups);
  sqlite3_prepare_v2(db, "SELECT k, length(v) FROM t WHERE id=?1", -1, &st, NULL);
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < lookups; i++) {
      double a = now_s();
      sqlite3_bind_int64(st, 1, ids[i]);
      if (sqlite3_step(st) != SQLITE_ROW) die("lookup", sqlite3_errmsg(db));
      sqlite3_reset(st);
      (pass ? warm : cold)[i] = (now_s() - a) * 1e6;
    }
  }
  sqlite3_finalize(st);
  qsort(cold, (size_t)lookups, sizeof(double), cmp_double);
  qsort(warm, (size_t)lookups, sizeof(double), cmp_double);
  long long lo = (long long)(rnd() % (uint64_t)(maxid > range ? maxid - range : 1)) + 1;
  double a = now_s();
  sqlite3_prepare_v2(db, "SELECT count(*), sum(k) FROM t WHERE id BETWEEN ?1 AND ?2", -1, &st, NULL);
  sqlite3_bind_int64(st, 1, lo);
  sqlite3_bind_int64(st, 2, lo + range - 1);
  if (sqlite3_step(st) != SQLITE_ROW) die("range", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  double range_ms = (now_s() - a) * 1000;
  a = now_s();
  sqlite3_prepare_v2(db, "SELECT count(*), sum(k) FROM t", -1, &st, NULL);
  if (sqlite3_step(st) != SQLITE_ROW) die("scan", sqlite3_errmsg(db));
  long long count = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  double scan_ms = (now_s() - a) * 1000;
  sqlite3_close(db);
  printf("{\"rows\": %lld, \"open_ms\": %.3f, \"cold_p50_us\": %.1f, \"cold_p99_us\": %.1f, \"warm_p50_us\": %.1f, "
         "\"warm_p99_us\": %.1f, \"range_ms\": %.3f, \"scan_ms\": %.3f}\n",
         count, open_ms, pct(cold, lookups, 0.5), pct(cold, lookups, 0.99), pct(warm, lookups, 0.5),
         pct(warm, lookups, 0.99), range_ms, scan_ms);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: loadgen write|fill|lag|lz4|vfs TARGET [options] (see bench/loadgen.c)\n");
    return 2;
  }
  const char* cmd = argv[1];
  if (strcmp(cmd, "write") == 0) return cmd_write(argv[2], argc - 3, argv + 3);
  if (strcmp(cmd, "fill") == 0) return cmd_fill(argv[2], argc - 3, argv + 3);
  if (strcmp(cmd, "lag") == 0) return cmd_lag(argv[2], argc - 3, argv + 3);
  if (strcmp(cmd, "lz4") == 0) return cmd_lz4(argv[2], argc - 3, argv + 3);
  if (strcmp(cmd, "vfs") == 0) return cmd_vfs(argv[2], argc - 3, argv + 3);
  fprintf(stderr, "loadgen: unknown command %s\n", cmd);
  return 2;
}
