#include "util/time_format.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace litestream {
namespace {

// Parses exactly `digits` decimal digits at text[*pos].
bool Digits(std::string_view text, size_t* pos, int digits, int* out) {
  if (*pos + static_cast<size_t>(digits) > text.size()) return false;
  int v = 0;
  for (int i = 0; i < digits; i++) {
    char c = text[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(digits);
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || std::toupper(static_cast<unsigned char>(text[*pos])) != c) return false;
  (*pos)++;
  return true;
}

}  // namespace

Result<SystemTime> ParseRFC3339(std::string_view text) {
  auto invalid = [&] {
    return Status::InvalidArgument("invalid timestamp \"" + std::string(text) +
                                   "\": want RFC 3339, e.g. 2006-01-02T15:04:05Z");
  };
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(text, &pos, 4, &year) || !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &month) ||
      !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &day) || !Expect(text, &pos, 'T') ||
      !Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &minute) ||
      !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &second)) {
    return invalid();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return invalid();
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    pos++;
    int n = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (n < 3) millis = millis * 10 + (text[pos] - '0');
      n++;
      pos++;
    }
    if (n == 0) return invalid();
    for (; n < 3; n++) millis *= 10;
  }
  int64_t offset_seconds = 0;
  if (Expect(text, &pos, 'Z')) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    pos++;
    int oh, om;
    if (!Digits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &om)) return invalid();
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return invalid();
  }
  if (pos != text.size()) return invalid();
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_seconds;
  return SystemTime(std::chrono::milliseconds(secs * 1000 + millis));
}

std::string FormatRFC3339Nano(SystemTime t) {
  const int64_t ms = t.time_since_epoch().count();
  const int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const int64_t frac = ms - secs * 1000;
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    char f[8];
    std::snprintf(f, sizeof(f), ".%03d", static_cast<int>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out + "Z";
}

}  // namespace litestream
