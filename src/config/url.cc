// A small URL parser (the subset of Go's net/url that replica URLs need) and path helpers.
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "config/internal.h"

namespace litestream {
namespace config_internal {
namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `s`; with plus_is_space, "+" becomes " " (query strings).
Result<std::string> Unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 1 < s.size() ? HexVal(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexVal(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("invalid URL escape \"" + std::string(s.substr(i, 3)) + "\"");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string ParsedURL::Get(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return {};
}

Result<ParsedURL> ParseURL(std::string_view raw) {
  ParsedURL u;
  size_t colon = raw.find("://");
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument("replica url scheme required: " + std::string(raw));
  }
  std::string_view scheme = raw.substr(0, colon);
  if (!std::isalpha(static_cast<unsigned char>(scheme[0]))) {
    return Status::InvalidArgument("invalid URL scheme in \"" + std::string(raw) + "\"");
  }
  for (char c : scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return Status::InvalidArgument("invalid URL scheme in \"" + std::string(raw) + "\"");
    }
    u.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  std::string_view rest = raw.substr(colon + 3);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    u.has_userinfo = true;
    std::string_view info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t c = info.find(':');
    LS_ASSIGN_OR_RETURN(u.username, Unescape(info.substr(0, c), false));
    if (c != std::string_view::npos) {
      LS_ASSIGN_OR_RETURN(std::string pw, Unescape(info.substr(c + 1), false));
      u.password = std::move(pw);
    }
  }
  for (char c : authority) {
    if (c == ' ' || c == '%' || static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("invalid character in URL host \"" + std::string(authority) + "\"");
    }
  }
  u.host = std::string(authority);
  LS_ASSIGN_OR_RETURN(u.path, Unescape(path, false));
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    LS_ASSIGN_OR_RETURN(std::string k, Unescape(pair.substr(0, eq), true));
    std::string v;
    if (eq != std::string_view::npos) {
      LS_ASSIGN_OR_RETURN(v, Unescape(pair.substr(eq + 1), true));
    }
    u.query.emplace_back(std::move(k), std::move(v));
  }
  return u;
}

std::string CleanPath(std::string_view p) {
  if (p.empty()) return ".";
  bool rooted = p[0] == '/';
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t end = p.find('/', pos);
    if (end == std::string_view::npos) end = p.size();
    std::string_view seg = p.substr(pos, end - pos);
    pos = end + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(seg);
      }
      continue;
    }
    parts.push_back(seg);
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); i++) {
    if (i > 0) out.push_back('/');
    out.append(parts[i]);
  }
  if (out.empty()) return ".";
  return out;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return b.empty() ? std::string() : CleanPath(b);
  if (b.empty()) return CleanPath(a);
  return CleanPath(std::string(a) + "/" + std::string(b));
}

bool ParseYamlInt(std::string_view text, int64_t* out) {
  std::string s;
  for (char c : text) {
    if (c != '_') s.push_back(c);
  }
  if (s.empty()) return false;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  int base = 10;
  if (s.size() - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    base = 16;
    i += 2;
  } else if (s.size() - i > 2 && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
    base = 8;
    i += 2;
  } else if (s.size() - i > 2 && s[i] == '0' && (s[i + 1] == 'b' || s[i + 1] == 'B')) {
    base = 2;
    i += 2;
  } else if (s.size() - i > 1 && s[i] == '0') {
    base = 8;  // YAML 1.1: a leading zero means octal ("0600")
    i += 1;
  }
  if (i >= s.size()) return false;
  constexpr uint64_t kLimit = uint64_t{1} << 63;  // |INT64_MIN|
  uint64_t v = 0;
  for (; i < s.size(); i++) {
    int d = HexVal(s[i]);
    if (d < 0 || d >= base) return false;
    if (v > (kLimit - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return false;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (!neg && v > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = neg ? (v == kLimit ? INT64_MIN : -static_cast<int64_t>(v)) : static_cast<int64_t>(v);
  return true;
}

}  // namespace config_internal

bool IsURL(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) i++;
  return i > 0 && s.substr(i, 3) == "://";
}

std::string ReplicaTypeFromURL(std::string_view s) {
  if (!IsURL(s)) return {};
  std::string scheme(s.substr(0, s.find("://")));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "webdavs") return "webdav";
  return scheme;
}

}  // namespace litestream
