// An application that embeds replication: a small HTTP server over a SQLite database, replicating it from
// a config stored age-encrypted in that same database (litestream config save), with its own logger
// receiving every log line of the service. A write is acknowledged only once it is on the replica.
//
//   http_app -db PATH -age-key PATH [-addr 127.0.0.1:8080] [-log PATH] [-workers 4]
//
//   POST /items        body: any text   -> 201 {"id":N,"txid":T}   (after the commit is on the replica)
//   GET  /items/count                   -> 200 {"count":N}
//   SIGTERM / SIGINT: stops accepting, finishes the requests under way, stops the service (final sync with
//   a deadline) and exits 0.
//
// One thread accepts; a fixed pool of workers, each with its own connection, serves the requests. Workers
// that wait for the replica at the same time share one sync and one upload (Service::Sync group commit).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "litestream/service.h"

namespace {

using namespace std::chrono_literals;

constexpr size_t kMaxRequestBytes = 1 << 20;
constexpr size_t kMaxQueuedConnections = 64;
constexpr int kReadTimeoutMs = 5000;
constexpr auto kReplicatedTimeout = 10s;
constexpr auto kStopDeadline = 10s;

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

// The application's own logger: JSON lines to its log file (or to stderr, prefixed), and every line of the
// replication service goes through it.
class JsonLinesSink final : public litestream::LogSink {
 public:
  JsonLinesSink(FILE* out, std::string prefix) : out_(out), prefix_(std::move(prefix)) {}
  void Write(litestream::LogLevel level, std::string_view message,
             const std::vector<litestream::LogField>& fields) override {
    std::string line = prefix_ + "{\"app\":\"http_app\",\"level\":\"" +
                       std::string(litestream::LogLevelName(level)) + "\",\"msg\":\"" + Escape(message) +
                       "\"";
    for (const auto& f : fields) line += ",\"" + Escape(f.key) + "\":\"" + Escape(f.value) + "\"";
    line += "}\n";
    std::lock_guard<std::mutex> lock(mu_);  // the service logs from many threads
    std::fputs(line.c_str(), out_);
    std::fflush(out_);
  }

 private:
  static std::string Escape(std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char esc[8];
        std::snprintf(esc, sizeof(esc), "\\u%04x", static_cast<unsigned>(c));
        out += esc;
      } else {
        out += c;
      }
    }
    return out;
  }
  std::mutex mu_;
  FILE* out_;
  std::string prefix_;
};

std::string Response(int code, const char* reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

struct Request {
  std::string method, path, body;
};

// Finds a header's value (case-insensitive name) in the header block.
std::string_view HeaderValue(std::string_view headers, std::string_view name) {
  size_t at = headers.find("\r\n");
  while (at != std::string_view::npos && at + 2 < headers.size()) {
    const size_t start = at + 2, end = headers.find("\r\n", start);
    const std::string_view line = headers.substr(start, end - start);
    const size_t colon = line.find(':');
    if (colon == name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return v;
    }
    at = end;
  }
  return {};
}

// Reads one request (headers and a Content-Length body), bounded in size and in time.
bool ReadRequest(int fd, Request* req) {
  std::string buf;
  size_t header_end = std::string::npos, want = 0;
  while (buf.size() <= kMaxRequestBytes) {
    if (header_end != std::string::npos && buf.size() >= header_end + 4 + want) {
      req->body = buf.substr(header_end + 4, want);
      return true;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kReadTimeoutMs) <= 0) return false;
    char chunk[4096];
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    if (header_end != std::string::npos) continue;
    header_end = buf.find("\r\n\r\n");
    if (header_end == std::string::npos) continue;
    const size_t sp1 = buf.find(' '), sp2 = buf.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos || sp2 > header_end) return false;
    req->method = buf.substr(0, sp1);
    req->path = buf.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view cl =
        HeaderValue(std::string_view(buf).substr(0, header_end + 2), "Content-Length");
    if (!cl.empty() && std::from_chars(cl.data(), cl.data() + cl.size(), want).ec != std::errc())
      return false;
  }
  return false;
}

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Accepted connections waiting for a worker; bounded, so overload is refused rather than queued forever.
class ConnectionQueue {
 public:
  bool Push(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fds_.size() >= kMaxQueuedConnections) return false;
    fds_.push_back(fd);
    cv_.notify_one();
    return true;
  }
  // -1 once closed and drained.
  int Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !fds_.empty(); });
    if (fds_.empty()) return -1;
    const int fd = fds_.front();
    fds_.pop_front();
    return fd;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> fds_;
  bool closed_ = false;
};

// One worker: its own connection to the application's database.
class Worker {
 public:
  Worker(const std::string& db_path, litestream::Service* service, litestream::LogSink* log)
      : db_path_(db_path), service_(service), log_(log) {}
  ~Worker() {
    sqlite3_finalize(insert_);
    sqlite3_finalize(count_);
    sqlite3_close(db_);
  }

  litestream::Status Open() {
    if (sqlite3_open_v2(db_path_.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      return litestream::Status::IOError("open " + db_path_ + ": " + sqlite3_errmsg(db_));
    }
    LS_RETURN_IF_ERROR(litestream::ApplyRecommendedPragmas(db_));
    if (sqlite3_prepare_v2(db_, "INSERT INTO items (v) VALUES (?1)", -1, &insert_, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_, "SELECT count(*) FROM items", -1, &count_, nullptr) != SQLITE_OK) {
      return litestream::Status::IOError(std::string("prepare: ") + sqlite3_errmsg(db_));
    }
    return litestream::Status::OK();
  }

  void Serve(ConnectionQueue* queue) {
    for (int fd; (fd = queue->Pop()) >= 0;) {
      Request req;
      WriteAll(fd, ReadRequest(fd, &req) ? Handle(req)
                                         : Response(400, "Bad Request", "{\"error\":\"bad request\"}"));
      close(fd);
    }
  }

 private:
  std::string Handle(const Request& req) {
    if (req.method == "POST" && req.path == "/items") return PostItem(req.body);
    if (req.method == "GET" && req.path == "/items/count") {
      sqlite3_reset(count_);
      if (sqlite3_step(count_) != SQLITE_ROW)
        return Response(500, "Internal Server Error", "{\"error\":\"count\"}");
      return Response(200, "OK", "{\"count\":" + std::to_string(sqlite3_column_int64(count_, 0)) + "}");
    }
    return Response(404, "Not Found", "{\"error\":\"not found\"}");
  }

  std::string PostItem(const std::string& body) {
    sqlite3_reset(insert_);
    sqlite3_bind_text(insert_, 1, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(insert_) != SQLITE_DONE) {
      log_->Write(litestream::LogLevel::kError, "insert failed", {{"error", sqlite3_errmsg(db_)}});
      return Response(500, "Internal Server Error", "{\"error\":\"insert failed\"}");
    }
    const int64_t id = sqlite3_last_insert_rowid(db_);
    // The commit is durable locally; acknowledge it only once the replica has it too.
    auto synced = service_->Sync(db_path_, /*wait_upload=*/true, kReplicatedTimeout);
    if (!synced.ok()) {
      log_->Write(litestream::LogLevel::kWarn, "write not acknowledged",
                  {{"id", std::to_string(id)}, {"error", synced.status().ToString()}});
      return Response(503, "Service Unavailable", "{\"error\":\"not on the replica yet\"}");
    }
    return Response(201, "Created",
                    "{\"id\":" + std::to_string(id) + ",\"txid\":" + std::to_string(synced->txid) + "}");
  }

  std::string db_path_;
  litestream::Service* service_;
  litestream::LogSink* log_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* count_ = nullptr;
};

struct Flags {
  std::string db, age_key, addr = "127.0.0.1:8080", log;
  int workers = 4;
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return false;
    const std::string value = argv[i + 1];
    if (flag == "-db")
      f->db = value;
    else if (flag == "-age-key")
      f->age_key = value;
    else if (flag == "-addr")
      f->addr = value;
    else if (flag == "-log")
      f->log = value;
    else if (flag == "-workers") {
      if (std::from_chars(value.data(), value.data() + value.size(), f->workers).ec != std::errc())
        return false;
    } else {
      return false;
    }
  }
  return !f->db.empty() && !f->age_key.empty() && f->workers >= 1 && f->workers <= 16;
}

// The database must exist: it holds the config this application replicates with.
litestream::Status CreateSchema(const std::string& path) {
  sqlite3* db = nullptr;
  litestream::Status s;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    s = litestream::Status::IOError("open " + path + ": " + sqlite3_errmsg(db));
  } else if (s = litestream::ApplyRecommendedPragmas(db); s.ok()) {
    if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)",
                     nullptr, nullptr, nullptr) != SQLITE_OK) {
      s = litestream::Status::IOError("create the schema in " + path + ": " + sqlite3_errmsg(db));
    }
  }
  sqlite3_close(db);
  return s;
}

// Listens on "IPv4:port".
int Listen(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  uint16_t port = 0;
  if (colon == std::string::npos ||
      std::from_chars(addr.data() + colon + 1, addr.data() + addr.size(), port).ec != std::errc() ||
      inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
    errno = EINVAL;
    return -1;
  }
  sa.sin_port = htons(port);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 64) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(
        stderr,
        "usage: http_app -db PATH -age-key PATH [-addr 127.0.0.1:PORT] [-log PATH] [-workers 1-16]\n");
    return 2;
  }
  FILE* log_file = flags.log.empty() ? stderr : std::fopen(flags.log.c_str(), "a");
  if (log_file == nullptr) {
    std::fprintf(stderr, "http_app: cannot open %s: %s\n", flags.log.c_str(), std::strerror(errno));
    return 1;
  }
  auto sink = std::make_shared<JsonLinesSink>(log_file, flags.log.empty() ? "http_app: " : "");

  // Signals only set a flag; the accept loop polls it.
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  // The application's schema, in its own database (which also holds the encrypted app_config).
  if (auto s = CreateSchema(flags.db); !s.ok()) {
    std::fprintf(stderr, "http_app: %s\n", s.ToString().c_str());
    return 1;
  }

  litestream::ServiceOptions options;
  options.log_sink = sink;
  auto service = litestream::Service::FromConfigDb(flags.db, flags.age_key, options);
  if (!service.ok()) {
    std::fprintf(stderr, "http_app: %s\n", service.status().ToString().c_str());
    return 1;
  }
  if (auto s = (*service)->Start(); !s.ok()) {
    std::fprintf(stderr, "http_app: start replication: %s\n", s.ToString().c_str());
    return 1;
  }

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < flags.workers; i++) {
    workers.push_back(std::make_unique<Worker>(flags.db, service->get(), sink.get()));
    if (auto s = workers.back()->Open(); !s.ok()) {
      std::fprintf(stderr, "http_app: %s\n", s.ToString().c_str());
      (void)(*service)->Stop(kStopDeadline);  // the startup error above is the one to report
      return 1;
    }
  }
  const int listener = Listen(flags.addr);
  if (listener < 0) {
    std::fprintf(stderr, "http_app: cannot listen on %s: %s\n", flags.addr.c_str(), std::strerror(errno));
    (void)(*service)->Stop(kStopDeadline);  // the startup error above is the one to report
    return 1;
  }
  ConnectionQueue queue;
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&queue, worker = w.get()] { worker->Serve(&queue); });
  sink->Write(litestream::LogLevel::kInfo, "listening",
              {{"addr", flags.addr}, {"workers", std::to_string(flags.workers)}});
  std::printf("listening on %s\n", flags.addr.c_str());
  std::fflush(stdout);

  while (g_stop == 0) {
    pollfd p{listener, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;  // EINTR from a signal lands here too
    const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (!queue.Push(fd)) {
      WriteAll(fd, Response(503, "Service Unavailable", "{\"error\":\"busy\"}"));
      close(fd);
    }
  }

  sink->Write(litestream::LogLevel::kInfo, "shutting down", {});
  close(listener);
  queue.Close();  // the workers finish what was accepted, then return
  for (auto& t : threads) t.join();
  workers.clear();
  const litestream::Status stopped = (*service)->Stop(kStopDeadline);
  if (stopped.ok()) {
    sink->Write(litestream::LogLevel::kInfo, "stopped", {});
  } else {
    sink->Write(litestream::LogLevel::kError, "stopped", {{"error", stopped.ToString()}});
  }
  return stopped.ok() ? 0 : 1;
}
