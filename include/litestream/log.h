// Logging without process-global state: every service instance gets a LogSink from its host, so an
// embedding application receives every line in its own logger. The CLI uses the same sink interface
// with text or JSON output.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace litestream {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError };

std::string_view LogLevelName(LogLevel level);  // "TRACE", "DEBUG", "INFO", "WARN", "ERROR"
// Accepts trace, debug, info, warn, warning, error (any case). False if unknown.
bool ParseLogLevel(std::string_view text, LogLevel* out);

struct LogField {
  std::string key;
  std::string value;
};

// Receives structured log records. Implementations must be thread-safe: records arrive from many threads.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Write(LogLevel level, std::string_view message, const std::vector<LogField>& fields) = 0;
};

// Writes "time=… level=INFO msg=\"…\" key=value" (text) or one JSON object per line to a FILE*.
std::shared_ptr<LogSink> NewStreamLogSink(FILE* out, bool json);
// Discards everything.
std::shared_ptr<LogSink> NewNullLogSink();

// A cheap handle: a sink, a minimum level and fields added to every record ("db", "replica", ...).
class Logger {
 public:
  Logger() : sink_(NewNullLogSink()) {}
  Logger(std::shared_ptr<LogSink> sink, LogLevel min_level) : sink_(std::move(sink)), min_level_(min_level) {}

  // A child logger that adds `fields` to every record.
  Logger With(std::vector<LogField> fields) const;

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  void Log(LogLevel level, std::string_view message, std::vector<LogField> fields = {}) const;
  void Trace(std::string_view m, std::vector<LogField> f = {}) const { Log(LogLevel::kTrace, m, std::move(f)); }
  void Debug(std::string_view m, std::vector<LogField> f = {}) const { Log(LogLevel::kDebug, m, std::move(f)); }
  void Info(std::string_view m, std::vector<LogField> f = {}) const { Log(LogLevel::kInfo, m, std::move(f)); }
  void Warn(std::string_view m, std::vector<LogField> f = {}) const { Log(LogLevel::kWarn, m, std::move(f)); }
  void Error(std::string_view m, std::vector<LogField> f = {}) const { Log(LogLevel::kError, m, std::move(f)); }

  const std::shared_ptr<LogSink>& sink() const { return sink_; }
  LogLevel min_level() const { return min_level_; }

 private:
  std::shared_ptr<LogSink> sink_;
  LogLevel min_level_ = LogLevel::kInfo;
  std::vector<LogField> fields_;
};

}  // namespace litestream
