#include "litestream/log.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <strings.h>

namespace litestream {
namespace {

std::string NowRFC3339Millis() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

bool NeedsQuoting(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void AppendTextValue(std::string& line, std::string_view v) {
  if (!NeedsQuoting(v)) {
    line.append(v);
    return;
  }
  line.append(nlohmann::json(std::string(v)).dump());
}

class StreamLogSink final : public LogSink {
 public:
  StreamLogSink(FILE* out, bool json) : out_(out), json_(json) {}

  void Write(LogLevel level, std::string_view message, const std::vector<LogField>& fields) override {
    std::string line;
    if (json_) {
      nlohmann::json j;
      j["time"] = NowRFC3339Millis();
      j["level"] = std::string(LogLevelName(level));
      j["msg"] = std::string(message);
      for (const auto& f : fields) j[f.key] = f.value;
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      line = "time=" + NowRFC3339Millis() + " level=" + std::string(LogLevelName(level)) + " msg=";
      AppendTextValue(line, message);
      for (const auto& f : fields) {
        line += ' ';
        line += f.key;
        line += '=';
        AppendTextValue(line, f.value);
      }
    }
    line += '\n';
    std::lock_guard<std::mutex> lock(mu_);
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  }

 private:
  FILE* out_;
  bool json_;
  std::mutex mu_;
};

class NullLogSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, const std::vector<LogField>&) override {}
};

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "TRACE";
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kError: return "ERROR";
  }
  return "INFO";
}

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  struct Name {
    const char* name;
    LogLevel level;
  };
  static constexpr Name kNames[] = {{"trace", LogLevel::kTrace}, {"debug", LogLevel::kDebug},
                                    {"info", LogLevel::kInfo},   {"warn", LogLevel::kWarn},
                                    {"warning", LogLevel::kWarn}, {"error", LogLevel::kError}};
  for (const auto& n : kNames) {
    if (text.size() == std::char_traits<char>::length(n.name) &&
        strncasecmp(text.data(), n.name, text.size()) == 0) {
      *out = n.level;
      return true;
    }
  }
  return false;
}

std::shared_ptr<LogSink> NewStreamLogSink(FILE* out, bool json) { return std::make_shared<StreamLogSink>(out, json); }

std::shared_ptr<LogSink> NewNullLogSink() {
  static std::shared_ptr<LogSink> sink = std::make_shared<NullLogSink>();
  return sink;
}

Logger Logger::With(std::vector<LogField> fields) const {
  Logger child = *this;
  child.fields_.insert(child.fields_.end(), std::make_move_iterator(fields.begin()),
                       std::make_move_iterator(fields.end()));
  return child;
}

void Logger::Log(LogLevel level, std::string_view message, std::vector<LogField> fields) const {
  if (!Enabled(level) || !sink_) return;
  if (!fields_.empty()) fields.insert(fields.begin(), fields_.begin(), fields_.end());
  sink_->Write(level, message, fields);
}

}  // namespace litestream
