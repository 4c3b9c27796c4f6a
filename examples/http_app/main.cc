// An application that embeds replication: a small HTTP server over a SQLite database, replicating it from
// a config stored age-encrypted in that same database (litestream config save), with its own logger
// receiving every log line of the service. A write is acknowledged only once it is on the replica.
//
//   http_app -db PATH -age-key PATH [-addr 127.0.0.1:8080] [-log PATH]
//
//   POST /items        body: any text   -> 201 {"id": N}   (after the commit is on the replica)
//   GET  /items/count                   -> 200 {"count": N}
//   SIGTERM / SIGINT: stops accepting, stops the service (final sync), exits 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "litestream/service.h"

namespace {

using namespace std::chrono_literals;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// The application's logger: JSON lines in its own file, every line of the replication service included.
class JsonFileSink final : public litestream::LogSink {
 public:
  explicit JsonFileSink(FILE* out) : out_(out) {}
  void Write(litestream::LogLevel level, std::string_view message,
             const std::vector<litestream::LogField>& fields) override {
    std::string line = "{\"app\":\"http_app\",\"level\":\"" + std::string(litestream::LogLevelName(level)) +
                       "\",\"msg\":\"" + Escape(message) + "\"";
    for (const auto& f : fields) line += ",\"" + Escape(f.key) + "\":\"" + Escape(f.value) + "\"";
    line += "}\n";
    std::lock_guard<std::mutex> lock(mu_);
    std::fputs(line.c_str(), out_);
    std::fflush(out_);
  }

 private:
  static std::string Escape(std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        out += ' ';
        continue;
      }
      out += c;
    }
    return out;
  }
  std::mutex mu_;
  FILE* out_;
};

std::string Response(int code, const std::string& reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Reads one request (headers + Content-Length body), bounded in size and time.
bool ReadRequest(int fd, std::string* method, std::string* path, std::string* body) {
  std::string buf;
  size_t header_end = std::string::npos;
  size_t want = 0;
  for (int i = 0; i < 1000; i++) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return false;
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    if (buf.size() > (1 << 20)) return false;
    if (header_end == std::string::npos) {
      header_end = buf.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      const size_t sp1 = buf.find(' '), sp2 = buf.find(' ', sp1 + 1);
      if (sp1 == std::string::npos || sp2 == std::string::npos) return false;
      *method = buf.substr(0, sp1);
      *path = buf.substr(sp1 + 1, sp2 - sp1 - 1);
      const size_t cl = buf.find("Content-Length:");
      const size_t cl_lower = buf.find("content-length:");
      const size_t at = cl != std::string::npos ? cl : cl_lower;
      if (at != std::string::npos && at < header_end) want = std::strtoul(buf.c_str() + at + 15, nullptr, 10);
    }
    if (buf.size() >= header_end + 4 + want) {
      *body = buf.substr(header_end + 4, want);
      return true;
    }
  }
  return false;
}

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string db_path, key_path, addr = "127.0.0.1:8080", log_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "-db") db_path = value;
    else if (flag == "-age-key") key_path = value;
    else if (flag == "-addr") addr = value;
    else if (flag == "-log") log_path = value;
  }
  if (db_path.empty() || key_path.empty()) {
    std::fprintf(stderr, "usage: http_app -db PATH -age-key PATH [-addr 127.0.0.1:PORT] [-log PATH]\n");
    return 2;
  }
  FILE* log_file = log_path.empty() ? stderr : std::fopen(log_path.c_str(), "a");
  if (log_file == nullptr) return 2;
  auto sink = std::make_shared<JsonFileSink>(log_file);

  // The application's own connection, configured as replication expects.
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK ||
      !litestream::ApplyRecommendedPragmas(db).ok() ||
      sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, v TEXT NOT NULL);", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "http_app: cannot open %s: %s\n", db_path.c_str(), sqlite3_errmsg(db));
    return 1;
  }

  litestream::ServiceOptions options;
  options.log_sink = sink;
  auto service = litestream::Service::FromConfigDb(db_path, key_path, options);
  if (!service.ok()) {
    std::fprintf(stderr, "http_app: %s\n", service.status().ToString().c_str());
    return 1;
  }
  if (auto s = (*service)->Start(); !s.ok()) {
    std::fprintf(stderr, "http_app: start replication: %s\n", s.ToString().c_str());
    return 1;
  }

  const size_t colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
  inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr);
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(listener, 64) != 0) {
    std::fprintf(stderr, "http_app: cannot listen on %s: %s\n", addr.c_str(), std::strerror(errno));
    return 1;
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  sink->Write(litestream::LogLevel::kInfo, "listening", {{"addr", addr}});
  std::printf("listening on %s\n", addr.c_str());
  std::fflush(stdout);

  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO items (v) VALUES (?1)", -1, &insert, nullptr);
  while (!g_stop) {
    pollfd p{listener, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string method, path, body, reply;
    if (!ReadRequest(fd, &method, &path, &body)) {
      reply = Response(400, "Bad Request", "{\"error\":\"bad request\"}");
    } else if (method == "POST" && path == "/items") {
      sqlite3_reset(insert);
      sqlite3_bind_text(insert, 1, body.c_str(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
      if (sqlite3_step(insert) != SQLITE_DONE) {
        reply = Response(500, "Internal Server Error", "{\"error\":\"insert failed\"}");
      } else {
        const int64_t id = sqlite3_last_insert_rowid(db);
        // Acknowledge only once the commit is on the replica.
        auto synced = (*service)->Sync(db_path, /*wait_upload=*/true, 10s);
        reply = synced.ok() ? Response(201, "Created", "{\"id\":" + std::to_string(id) + "}")
                            : Response(503, "Service Unavailable", "{\"error\":\"not replicated\"}");
      }
    } else if (method == "GET" && path == "/items/count") {
      sqlite3_stmt* q = nullptr;
      int64_t count = 0;
      if (sqlite3_prepare_v2(db, "SELECT count(*) FROM items", -1, &q, nullptr) == SQLITE_OK &&
          sqlite3_step(q) == SQLITE_ROW) {
        count = sqlite3_column_int64(q, 0);
      }
      sqlite3_finalize(q);
      reply = Response(200, "OK", "{\"count\":" + std::to_string(count) + "}");
    } else {
      reply = Response(404, "Not Found", "{\"error\":\"not found\"}");
    }
    WriteAll(fd, reply);
    close(fd);
  }
  close(listener);
  sqlite3_finalize(insert);
  sink->Write(litestream::LogLevel::kInfo, "shutting down", {});
  auto stopped = (*service)->Stop(10s);
  sqlite3_close(db);
  return stopped.ok() ? 0 : 1;
}
