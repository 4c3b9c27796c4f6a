// Go duration syntax and go-humanize byte sizes, as upstream's config accepts them.
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "litestream/config.h"

namespace litestream {
namespace {

constexpr uint64_t kNs = 1;
constexpr uint64_t kUs = 1000 * kNs;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint64_t kSec = 1000 * kMs;
constexpr uint64_t kMin = 60 * kSec;
constexpr uint64_t kHour = 60 * kMin;
constexpr uint64_t kMaxDurationNs = uint64_t{1} << 63;

bool UnitNanos(std::string_view u, uint64_t* out) {
  if (u == "ns")
    *out = kNs;
  else if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs")
    *out = kUs;  // us, µs (U+00B5), μs (U+03BC)
  else if (u == "ms")
    *out = kMs;
  else if (u == "s")
    *out = kSec;
  else if (u == "m")
    *out = kMin;
  else if (u == "h")
    *out = kHour;
  else
    return false;
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status BadDuration(std::string_view orig, std::string_view why) {
  return Status::InvalidArgument("invalid duration \"" + std::string(orig) + "\"" +
                                 (why.empty() ? std::string() : ": " + std::string(why)));
}

}  // namespace

Result<Duration> ParseDuration(std::string_view orig) {
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) return BadDuration(orig, "");
  uint64_t total = 0;  // nanoseconds
  while (!s.empty()) {
    if (!(s[0] == '.' || IsDigit(s[0]))) return BadDuration(orig, "");
    // Integer part.
    uint64_t v = 0;
    size_t i = 0;
    bool overflow = false;
    while (i < s.size() && IsDigit(s[i])) {
      if (v > (kMaxDurationNs - 1) / 10) overflow = true;
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMaxDurationNs) overflow = true;
      i++;
    }
    if (overflow) return BadDuration(orig, "overflow");
    bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction.
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      bool fraction_overflow = false;
      while (j < s.size() && IsDigit(s[j])) {
        if (!fraction_overflow) {
          if (f > (kMaxDurationNs - 1) / 10) {
            fraction_overflow = true;  // further digits are insignificant
          } else {
            f = f * 10 + static_cast<uint64_t>(s[j] - '0');
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return BadDuration(orig, "");
    // Unit.
    size_t k = 0;
    while (k < s.size() && s[k] != '.' && !IsDigit(s[k])) k++;
    if (k == 0) return BadDuration(orig, "missing unit (write e.g. \"10s\", \"5m\", \"1h\")");
    uint64_t unit = 0;
    if (!UnitNanos(s.substr(0, k), &unit)) {
      return BadDuration(orig, "unknown unit \"" + std::string(s.substr(0, k)) + "\"");
    }
    s.remove_prefix(k);
    if (v > kMaxDurationNs / unit) return BadDuration(orig, "overflow");
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kMaxDurationNs) return BadDuration(orig, "overflow");
    }
    total += v;
    if (total > kMaxDurationNs) return BadDuration(orig, "overflow");
  }
  if (total == kMaxDurationNs && !neg) return BadDuration(orig, "overflow");
  int64_t ms = static_cast<int64_t>(total / kMs);
  return Duration(neg ? -ms : ms);
}

std::string FormatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string sign = ms < 0 ? "-" : "";
  uint64_t u = ms < 0 ? static_cast<uint64_t>(-(ms + 1)) + 1 : static_cast<uint64_t>(ms);
  if (u < 1000) return sign + std::to_string(u) + "ms";
  uint64_t h = u / 3600000;
  uint64_t m = (u / 60000) % 60;
  uint64_t sec = (u / 1000) % 60;
  uint64_t frac = u % 1000;
  std::string out = sign;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(sec);
  if (frac > 0) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), ".%03u", static_cast<unsigned>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "s";
}

Result<int64_t> ParseByteSize(std::string_view text) {
  // Trim spaces.
  size_t b = text.find_first_not_of(" \t\r\n");
  size_t e = text.find_last_not_of(" \t\r\n");
  std::string_view s = b == std::string_view::npos ? std::string_view() : text.substr(b, e - b + 1);
  if (s.empty()) return Status::InvalidArgument("invalid size \"\": empty");
  size_t i = 0;
  std::string num;
  while (i < s.size() && (IsDigit(s[i]) || s[i] == '.' || s[i] == ',')) {
    if (s[i] != ',') num.push_back(s[i]);
    i++;
  }
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid size \"" + std::string(text) + "\": " + why);
  };
  if (num.empty() || num == ".") return bad("expected a number, optionally followed by a unit (5MB, 5MiB)");
  char* end = nullptr;
  double f = std::strtod(num.c_str(), &end);
  if (end == nullptr || *end != '\0') return bad("malformed number");
  std::string unit;
  for (char c : s.substr(i)) unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  unit.erase(0, unit.find_first_not_of(" \t"));  // s is already trimmed at the end
  static const struct {
    const char* name;
    double mult;
  } kUnits[] = {
      {"", 1},
      {"b", 1},
      {"k", 1e3},
      {"kb", 1e3},
      {"ki", 1024.0},
      {"kib", 1024.0},
      {"m", 1e6},
      {"mb", 1e6},
      {"mi", 1048576.0},
      {"mib", 1048576.0},
      {"g", 1e9},
      {"gb", 1e9},
      {"gi", 1073741824.0},
      {"gib", 1073741824.0},
      {"t", 1e12},
      {"tb", 1e12},
      {"ti", 1099511627776.0},
      {"tib", 1099511627776.0},
      {"p", 1e15},
      {"pb", 1e15},
      {"pi", 1125899906842624.0},
      {"pib", 1125899906842624.0},
      {"e", 1e18},
      {"eb", 1e18},
      {"ei", 1152921504606846976.0},
      {"eib", 1152921504606846976.0},
  };
  for (const auto& u : kUnits) {
    if (unit == u.name) {
      double v = f * u.mult;
      if (!(v < 9223372036854775807.0)) return bad("too large");
      return static_cast<int64_t>(v);
    }
  }
  return bad("unknown unit \"" + unit + "\"");
}

}  // namespace litestream
