// The SQLite side of the read-replica VFS (VFS.md): a sqlite3_vfs named "litestream" whose main database
// files are ReplicaImages; every other file (temp files, journals) goes to the default VFS.
//
// Built twice from this one source: with LITESTREAM_VFS_EXTENSION as the loadable extension
// litestream-vfs.so (SQLite through sqlite3ext.h's routine table, entry point sqlite3_litestreamvfs_init),
// and without it into the static library litestream_vfs (litestream_vfs_register(), include/litestream/vfs.h).
//
// Nothing may escape to the host: every callback catches everything and returns an SQLite error code.
#ifdef LITESTREAM_VFS_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#else
#include <sqlite3.h>
#endif

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <optional>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "litestream/config.h"
#include "litestream/restore.h"
#include "litestream/vfs.h"
#include "storage/registry.h"
#include "util/time_format.h"
#include "vfs/replica_image.h"

namespace litestream::vfs {
namespace {

using std::chrono::milliseconds;

constexpr const char* kVfsName = "litestream";
constexpr milliseconds kDefaultPollInterval{1000};
constexpr milliseconds kDefaultOpenTimeout{0};  // no wait for an empty replica unless asked
constexpr size_t kDefaultCacheBytes = 10 << 20;

sqlite3_vfs* g_default_vfs = nullptr;
thread_local std::string g_last_error;  // for xGetLastError

// One open main database: the image plus a poller thread.
struct FileState {
  std::unique_ptr<ReplicaImage> image;
  int lock_level = SQLITE_LOCK_NONE;
  milliseconds poll_interval{kDefaultPollInterval};
  std::mutex mu;
  std::condition_variable cv;
  bool closing = false;
  std::thread poller;
  std::optional<SystemTime> target;  // time travel: the state at this time; polling is suspended
  std::optional<std::chrono::steady_clock::time_point> last_poll_ok;

  void StartPoller() {
    poller = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu);
      while (!closing) {
        if (cv.wait_for(lock, poll_interval, [this] { return closing; })) break;
        if (target) continue;
        lock.unlock();
        auto polled = image->Poll();
        lock.lock();
        // Time travel started meanwhile (its rebuild dropped what was staged). A failed poll shows as a
        // growing litestream_lag() and is retried next tick.
        if (target) continue;
        if (polled.ok()) last_poll_ok = std::chrono::steady_clock::now();
        // With no transaction open, install right away so the next one starts from it.
        if (polled.ok() && *polled && lock_level_none()) image->ApplyPending();
      }
    });
  }
  bool lock_level_none() const { return lock_level == SQLITE_LOCK_NONE; }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      closing = true;
    }
    cv.notify_all();
    if (poller.joinable()) poller.join();
  }
};

struct LitestreamFile {
  sqlite3_file base;
  FileState* state;  // null for a delegated (non-main) file, whose sqlite3_file follows this struct
};

sqlite3_file* Delegate(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + sizeof(LitestreamFile));
}

int Fail(int code, const std::string& message) {
  g_last_error = message;
  sqlite3_log(code, "litestream VFS: %s", message.c_str());  // reaches a host's SQLITE_CONFIG_LOG callback
  return code;
}

template <typename Fn>
int Guard(Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Fail(SQLITE_NOMEM, "out of memory");
  } catch (const std::exception& e) {
    return Fail(SQLITE_IOERR, std::string("litestream vfs: ") + e.what());
  } catch (...) {
    return Fail(SQLITE_IOERR, "litestream vfs: internal error");
  }
}

// ---- I/O methods of a main database file --------------------------------------------------------

int Close(sqlite3_file* f) {
  auto* file = reinterpret_cast<LitestreamFile*>(f);
  return Guard([&] {
    if (file->state != nullptr) {
      file->state->Stop();
      delete file->state;
      file->state = nullptr;
    }
    return SQLITE_OK;
  });
}

// Page 1 as SQLite must see it: a rollback-journal database (bytes 18-19 = 1, so SQLite never looks for
// a WAL), whose change counter (24-27) and version-valid-for (92-95) equal the low 32 bits of the TXID
// and whose in-header size (28-31) is the image's commit. SQLite keeps its page cache across transactions
// while the counter is unchanged, and drops it exactly when a new TXID was installed.
void PatchHeader(uint8_t* page, TXID txid, uint32_t commit) {
  auto put32 = [&](size_t off, uint32_t v) {
    page[off] = static_cast<uint8_t>(v >> 24);
    page[off + 1] = static_cast<uint8_t>(v >> 16);
    page[off + 2] = static_cast<uint8_t>(v >> 8);
    page[off + 3] = static_cast<uint8_t>(v);
  };
  page[18] = 1;
  page[19] = 1;
  put32(24, static_cast<uint32_t>(txid));
  put32(28, commit);
  put32(92, static_cast<uint32_t>(txid));
}

int Read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  auto* state = reinterpret_cast<LitestreamFile*>(f)->state;
  return Guard([&] {
    ReplicaImage& image = *state->image;
    const uint32_t ps = image.page_size();
    const uint32_t commit = image.commit();
    const TXID txid = image.txid();
    auto* out = static_cast<uint8_t*>(buf);
    if (amount == static_cast<int>(ps) && offset % ps == 0) {  // what SQLite asks for: one whole page
      const uint32_t pgno = static_cast<uint32_t>(offset / ps) + 1;
      if (pgno > commit) {
        std::memset(out, 0, ps);
        return SQLITE_IOERR_SHORT_READ;
      }
      Status s = image.ReadPage(pgno, out);
      if (!s.ok()) return Fail(SQLITE_IOERR_READ, s.ToString());
      if (pgno == 1) PatchHeader(out, txid, commit);
      return SQLITE_OK;
    }
    std::vector<uint8_t> page(ps);
    int64_t done = 0;
    while (done < amount) {
      const int64_t pos = offset + done;
      const uint32_t pgno = static_cast<uint32_t>(pos / ps) + 1;
      if (pgno > commit) {
        std::memset(out + done, 0, static_cast<size_t>(amount - done));
        return SQLITE_IOERR_SHORT_READ;
      }
      Status s = image.ReadPage(pgno, page.data());
      if (!s.ok()) return Fail(SQLITE_IOERR_READ, s.ToString());
      if (pgno == 1) PatchHeader(page.data(), txid, commit);
      const size_t in_page = static_cast<size_t>(pos % ps);
      const size_t n = std::min<size_t>(ps - in_page, static_cast<size_t>(amount - done));
      std::memcpy(out + done, page.data() + in_page, n);
      done += static_cast<int64_t>(n);
    }
    return SQLITE_OK;
  });
}

int ReadOnly(sqlite3_file*, const void*, int, sqlite3_int64) { return SQLITE_READONLY; }
int TruncateReadOnly(sqlite3_file*, sqlite3_int64) { return SQLITE_READONLY; }
int SyncNoop(sqlite3_file*, int) { return SQLITE_OK; }

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  auto* state = reinterpret_cast<LitestreamFile*>(f)->state;
  *size = static_cast<sqlite3_int64>(state->image->commit()) * state->image->page_size();
  return SQLITE_OK;
}

int Lock(sqlite3_file* f, int level) {
  auto* state = reinterpret_cast<LitestreamFile*>(f)->state;
  return Guard([&] {
    if (level >= SQLITE_LOCK_RESERVED) return SQLITE_READONLY;
    std::lock_guard<std::mutex> lock(state->mu);
    // A read transaction starts: install what the poller staged, so the transaction sees one state.
    // Never while time-travelling: a poll that raced with the rebuild may have staged newer files.
    if (state->lock_level == SQLITE_LOCK_NONE && level == SQLITE_LOCK_SHARED && !state->target) {
      state->image->ApplyPending();
    }
    state->lock_level = level;
    return SQLITE_OK;
  });
}

int Unlock(sqlite3_file* f, int level) {
  auto* state = reinterpret_cast<LitestreamFile*>(f)->state;
  std::lock_guard<std::mutex> lock(state->mu);
  state->lock_level = level;
  return SQLITE_OK;
}

int CheckReservedLock(sqlite3_file*, int* out) {
  *out = 0;  // nobody ever writes
  return SQLITE_OK;
}

// "2024-01-02T03:04:05Z" (RFC 3339) or "<n> <second|minute|hour|day>[s] ago".
Result<SystemTime> ParseTarget(std::string_view text) {
  auto rfc = ParseRFC3339(text);
  if (rfc.ok()) return rfc;
  std::string s(text);
  long n = 0;
  char unit[16] = {0}, ago[8] = {0};
  if (std::sscanf(s.c_str(), "%ld %15s %7s", &n, unit, ago) == 3 && std::string_view(ago) == "ago" && n >= 0) {
    std::string u(unit);
    if (!u.empty() && u.back() == 's') u.pop_back();
    int64_t ms = u == "second" ? 1000 : u == "minute" ? 60'000 : u == "hour" ? 3'600'000 : u == "day" ? 86'400'000 : 0;
    if (ms != 0) {
      auto now = std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
      return SystemTime(now - milliseconds(n * ms));
    }
  }
  return Status::InvalidArgument("invalid timestamp (expected RFC 3339, e.g. 2024-01-02T03:04:05Z, or relative "
                                 "time like '5 minutes ago'): " + s);
}

// Time travel for one connection: rebuild the index at the target (or back to the latest state).
Status SetTime(FileState& state, std::string_view text) {
  const bool latest = text.size() == 6 && sqlite3_strnicmp(std::string(text).c_str(), "latest", 6) == 0;
  std::optional<SystemTime> at;
  if (!latest) {
    LS_ASSIGN_OR_RETURN(SystemTime t, ParseTarget(text));
    at = t;
  }
  LS_RETURN_IF_ERROR(state.image->Rebuild(at));
  std::lock_guard<std::mutex> lock(state.mu);
  state.target = at;
  return Status::OK();
}

std::string TimeText(FileState& state) {
  std::lock_guard<std::mutex> lock(state.mu);
  if (state.target) return FormatRFC3339Nano(*state.target);
  const SystemTime newest = state.image->newest_file_time();
  return newest.time_since_epoch().count() == 0 ? "latest" : FormatRFC3339Nano(newest);
}

// Seconds since the last successful poll; -1 before the first one.
int64_t LagSeconds(FileState& state) {
  std::lock_guard<std::mutex> lock(state.mu);
  if (!state.last_poll_ok) return -1;
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - *state.last_poll_ok)
      .count();
}

int FileControl(sqlite3_file* f, int op, void* arg) {
  auto* state = reinterpret_cast<LitestreamFile*>(f)->state;
  return Guard([&] {
    if (op == SQLITE_FCNTL_VFSNAME) {
      *static_cast<char**>(arg) = sqlite3_mprintf("%s", kVfsName);
      return SQLITE_OK;
    }
    if (op == SQLITE_FCNTL_PRAGMA) {
      // argv[1] the name, argv[2] the value (or null); the result or an error message goes to argv[0].
      char** argv = static_cast<char**>(arg);
      if (argv[1] == nullptr) return SQLITE_NOTFOUND;
      const std::string name = argv[1];
      auto result = [&](const std::string& text) {
        argv[0] = sqlite3_mprintf("%s", text.c_str());
        return SQLITE_OK;
      };
      auto error = [&](const std::string& text) {
        argv[0] = sqlite3_mprintf("%s", text.c_str());
        return SQLITE_ERROR;
      };
      if (sqlite3_stricmp(name.c_str(), "litestream_txid") == 0) {
        if (argv[2] != nullptr) return error("litestream_txid is read-only");
        return result(FormatTXID(state->image->txid()));
      }
      if (sqlite3_stricmp(name.c_str(), "litestream_lag") == 0) {
        if (argv[2] != nullptr) return error("litestream_lag is read-only");
        return result(std::to_string(LagSeconds(*state)));
      }
      if (sqlite3_stricmp(name.c_str(), "litestream_time") == 0) {
        if (argv[2] == nullptr) return result(TimeText(*state));
        Status s = SetTime(*state, argv[2]);
        return s.ok() ? SQLITE_OK : error(s.message());
      }
    }
    return SQLITE_NOTFOUND;
  });
}

int SectorSize(sqlite3_file*) { return 4096; }
int DeviceCharacteristics(sqlite3_file*) { return 0; }

const sqlite3_io_methods kMethods = {
    1, Close, Read, ReadOnly, TruncateReadOnly, SyncNoop, FileSize, Lock, Unlock, CheckReservedLock,
    FileControl, SectorSize, DeviceCharacteristics,
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

// ---- The VFS ---------------------------------------------------------------------------------------

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

Result<FileState*> OpenState(const char* name) {
  // Configuration is read at open, so a host may set LITESTREAM_* after loading the extension.
  std::string url = EnvOr("LITESTREAM_REPLICA_URL", "");
  milliseconds poll = kDefaultPollInterval, open_timeout = kDefaultOpenTimeout;
  ImageOptions image_options;
  image_options.cache_bytes = kDefaultCacheBytes;
  if (name != nullptr) {
    if (const char* v = sqlite3_uri_parameter(name, "replica_url"); v != nullptr && *v != '\0') url = v;
    if (const char* v = sqlite3_uri_parameter(name, "poll_interval"); v != nullptr) {
      LS_ASSIGN_OR_RETURN(poll, ParseDuration(v));
      if (poll.count() <= 0) return Status::InvalidArgument("poll_interval must be positive");
    }
    if (const char* v = sqlite3_uri_parameter(name, "open_timeout"); v != nullptr) {
      LS_ASSIGN_OR_RETURN(open_timeout, ParseDuration(v));
    }
    if (const char* v = sqlite3_uri_parameter(name, "cache_size"); v != nullptr) {
      LS_ASSIGN_OR_RETURN(int64_t bytes, ParseByteSize(v));
      if (bytes < 0) return Status::InvalidArgument("cache_size must not be negative");
      image_options.cache_bytes = static_cast<size_t>(bytes);
    }
  }
  if (url.empty()) {
    return Status::InvalidArgument(
        "no replica configured: set LITESTREAM_REPLICA_URL or pass replica_url in the database URI");
  }
  LS_ASSIGN_OR_RETURN(ReplicaConfig replica, ParseReplicaURL(url));
  LS_ASSIGN_OR_RETURN(auto client, NewStorageClient(replica));
  std::shared_ptr<StorageClient> shared(std::move(client));
  // Opening lists ten levels and reads every plan file's header and index: on object storage each is a
  // round trip, so up to 8 go out together. A local file answers in microseconds, less than a thread takes
  // to start (~70 us on a small VM), so a file replica is read from this thread alone.
  image_options.max_parallel = shared->Type() == "file" ? 1 : 8;
  // An empty or not-yet-started replica: wait at most open_timeout, polling, then fail (never hang).
  const auto deadline = std::chrono::steady_clock::now() + open_timeout;
  for (;;) {
    auto image = ReplicaImage::Open(shared, image_options, std::nullopt);
    if (image.ok()) {
      auto* state = new FileState();
      state->image = std::move(*image);
      state->poll_interval = poll;
      return state;
    }
    if (!IsTxNotAvailable(image.status()) || std::chrono::steady_clock::now() >= deadline) {
      return image.status().WithContext(shared->Describe());
    }
    std::this_thread::sleep_for(std::min(poll, milliseconds(200)));
  }
}

int VfsOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<LitestreamFile*>(f);
  file->base.pMethods = nullptr;
  file->state = nullptr;
  return Guard([&] {
    if ((flags & SQLITE_OPEN_MAIN_DB) == 0) {
      // Temp files, journals, ...: the default VFS's file lives right after our struct.
      return g_default_vfs->xOpen(g_default_vfs, name, Delegate(f), flags, out_flags);
    }
    auto state = OpenState(name);
    if (!state.ok()) return Fail(SQLITE_CANTOPEN, state.status().ToString());
    file->state = *state;
    file->state->StartPoller();
    file->base.pMethods = &kMethods;
    if (out_flags != nullptr) *out_flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB;
    return SQLITE_OK;
  });
}

int VfsDelete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_default_vfs->xDelete(g_default_vfs, name, sync_dir);
}

int VfsAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  // No journal or WAL of a replica database ever exists (no hot-journal recovery); other names are
  // the default VFS's business.
  std::string_view n(name);
  auto ends_with = [&](std::string_view suffix) {
    return n.size() >= suffix.size() && n.substr(n.size() - suffix.size()) == suffix;
  };
  if (ends_with("-journal") || ends_with("-wal")) {
    *out = 0;
    return SQLITE_OK;
  }
  return g_default_vfs->xAccess(g_default_vfs, name, flags, out);
}

int VfsFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  // The name is a label, not a path.
  sqlite3_snprintf(n, out, "%s", name);
  return SQLITE_OK;
}

int VfsRandomness(sqlite3_vfs*, int n, char* out) { return g_default_vfs->xRandomness(g_default_vfs, n, out); }
int VfsSleep(sqlite3_vfs*, int us) { return g_default_vfs->xSleep(g_default_vfs, us); }
int VfsCurrentTime(sqlite3_vfs*, double* out) { return g_default_vfs->xCurrentTime(g_default_vfs, out); }
int VfsCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_default_vfs->xCurrentTimeInt64(g_default_vfs, out);
}
int VfsGetLastError(sqlite3_vfs*, int n, char* out) {
  if (n > 0) sqlite3_snprintf(n, out, "%s", g_last_error.c_str());
  return 0;
}

sqlite3_vfs g_vfs{};

// ---- SQL functions ---------------------------------------------------------------------------------

FileState* MainState(sqlite3* db) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || file == nullptr) {
    return nullptr;
  }
  if (file->pMethods != &kMethods) return nullptr;
  return reinterpret_cast<LitestreamFile*>(file)->state;
}

void TxidFunction(sqlite3_context* ctx, int, sqlite3_value**) {
  FileState* state = MainState(sqlite3_context_db_handle(ctx));
  if (state == nullptr) {
    sqlite3_result_error(ctx, "litestream_txid(): the main database does not use the litestream VFS", -1);
    return;
  }
  const std::string txid = FormatTXID(state->image->txid());
  sqlite3_result_text(ctx, txid.c_str(), -1, SQLITE_TRANSIENT);
}

void TimeFunction(sqlite3_context* ctx, int, sqlite3_value**) {
  FileState* state = MainState(sqlite3_context_db_handle(ctx));
  if (state == nullptr) return sqlite3_result_error(ctx, "litestream_time(): not a litestream database", -1);
  const std::string text = TimeText(*state);
  sqlite3_result_text(ctx, text.c_str(), -1, SQLITE_TRANSIENT);
}

void LagFunction(sqlite3_context* ctx, int, sqlite3_value**) {
  FileState* state = MainState(sqlite3_context_db_handle(ctx));
  if (state == nullptr) return sqlite3_result_error(ctx, "litestream_lag(): not a litestream database", -1);
  sqlite3_result_int64(ctx, LagSeconds(*state));
}

void SetTimeFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  FileState* state = MainState(sqlite3_context_db_handle(ctx));
  if (state == nullptr) return sqlite3_result_error(ctx, "litestream_set_time(): not a litestream database", -1);
  const unsigned char* text = argc == 1 ? sqlite3_value_text(argv[0]) : nullptr;
  if (text == nullptr) return sqlite3_result_error(ctx, "litestream_set_time(): timestamp required", -1);
  try {
    Status s = SetTime(*state, reinterpret_cast<const char*>(text));
    if (!s.ok()) return sqlite3_result_error(ctx, s.message().c_str(), -1);
    sqlite3_result_null(ctx);
  } catch (...) {
    sqlite3_result_error(ctx, "litestream_set_time(): internal error", -1);
  }
}

// Adds the SQL functions to connections whose main database is a replica. Must return SQLITE_OK for any
// other connection (upstream's returns garbage and breaks every later open in the process).
int AutoExtension(sqlite3* db, const char**, const void*) {
  try {
    if (MainState(db) == nullptr) return SQLITE_OK;
    sqlite3_create_function_v2(db, "litestream_txid", 0, SQLITE_UTF8, nullptr, TxidFunction, nullptr, nullptr,
                               nullptr);
    sqlite3_create_function_v2(db, "litestream_time", 0, SQLITE_UTF8, nullptr, TimeFunction, nullptr, nullptr,
                               nullptr);
    sqlite3_create_function_v2(db, "litestream_lag", 0, SQLITE_UTF8, nullptr, LagFunction, nullptr, nullptr, nullptr);
    // Direct only: time travel must not be triggered from a view, trigger or schema.
    sqlite3_create_function_v2(db, "litestream_set_time", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, nullptr,
                               SetTimeFunction, nullptr, nullptr, nullptr);
  } catch (...) {
  }
  return SQLITE_OK;
}

std::once_flag g_register_once;
int g_register_rc = SQLITE_OK;

int Register(bool make_default) {
  std::call_once(g_register_once, [] {
    g_default_vfs = sqlite3_vfs_find(nullptr);
    if (g_default_vfs == nullptr) {
      g_register_rc = SQLITE_ERROR;
      return;
    }
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(LitestreamFile)) + g_default_vfs->szOsFile;
    g_vfs.mxPathname = 1024;
    g_vfs.zName = kVfsName;
    g_vfs.xOpen = VfsOpen;
    g_vfs.xDelete = VfsDelete;
    g_vfs.xAccess = VfsAccess;
    g_vfs.xFullPathname = VfsFullPathname;
    g_vfs.xDlOpen = g_default_vfs->xDlOpen;
    g_vfs.xDlError = g_default_vfs->xDlError;
    g_vfs.xDlSym = g_default_vfs->xDlSym;
    g_vfs.xDlClose = g_default_vfs->xDlClose;
    g_vfs.xRandomness = VfsRandomness;
    g_vfs.xSleep = VfsSleep;
    g_vfs.xCurrentTime = VfsCurrentTime;
    g_vfs.xGetLastError = VfsGetLastError;
    g_vfs.xCurrentTimeInt64 = VfsCurrentTimeInt64;
    g_register_rc = sqlite3_vfs_register(&g_vfs, 0);
    if (g_register_rc == SQLITE_OK) {
      g_register_rc = sqlite3_auto_extension(reinterpret_cast<void (*)(void)>(AutoExtension));
    }
  });
  if (g_register_rc == SQLITE_OK && make_default) return sqlite3_vfs_register(&g_vfs, 1);
  return g_register_rc;
}

}  // namespace
}  // namespace litestream::vfs

#ifdef LITESTREAM_VFS_EXTENSION
extern "C" __attribute__((visibility("default"))) int sqlite3_litestreamvfs_init(sqlite3*, char** errmsg,
                                                                                 const sqlite3_api_routines* api) {
  SQLITE_EXTENSION_INIT2(api);
  if (sqlite3_libversion_number() < 3031000) {
    if (errmsg != nullptr) {
      *errmsg = sqlite3_mprintf("litestream VFS requires SQLite 3.31.0 or later (found %s)", sqlite3_libversion());
    }
    return SQLITE_ERROR;
  }
  int rc = litestream::vfs::Register(false);
  if (rc != SQLITE_OK) {
    if (errmsg != nullptr) *errmsg = sqlite3_mprintf("cannot register the litestream VFS (%d)", rc);
    return rc;
  }
  return SQLITE_OK_LOAD_PERMANENTLY;
}
#else
extern "C" int litestream_vfs_register(int make_default) { return litestream::vfs::Register(make_default != 0); }
#endif
