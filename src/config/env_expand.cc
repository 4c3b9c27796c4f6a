// Environment expansion exactly as Go's os.Expand, which upstream runs over the whole config text.
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "litestream/config.h"

namespace litestream {
namespace {

bool IsShellSpecialVar(char c) {
  switch (c) {
    case '*':
    case '#':
    case '$':
    case '@':
    case '!':
    case '?':
    case '-':  // NOLINT
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      return true;
    default:
      return false;
  }
}

bool IsAlphaNum(char c) {
  return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The name that begins `s` (s is non-empty) and the number of bytes consumed, as Go's getShellName.
std::pair<std::string_view, size_t> GetShellName(std::string_view s) {
  if (s[0] == '{') {
    if (s.size() > 2 && IsShellSpecialVar(s[1]) && s[2] == '}') return {s.substr(1, 1), 3};
    for (size_t i = 1; i < s.size(); i++) {
      if (s[i] == '}') {
        if (i == 1) return {{}, 2};  // "${}": bad syntax, eaten
        return {s.substr(1, i - 1), i + 1};
      }
    }
    return {{}, 1};  // "${" without "}": eaten
  }
  if (IsShellSpecialVar(s[0])) return {s.substr(0, 1), 1};
  size_t i = 0;
  while (i < s.size() && IsAlphaNum(s[i])) i++;
  return {s.substr(0, i), i};
}

}  // namespace

EnvLookup ProcessEnvLookup() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::string ExpandEnv(std::string_view s, const std::function<std::string(std::string_view)>& mapping) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  for (size_t j = 0; j < s.size(); j++) {
    if (s[j] != '$' || j + 1 >= s.size()) continue;
    out.append(s.substr(i, j - i));
    auto [name, w] = GetShellName(s.substr(j + 1));
    if (name.empty() && w > 0) {
      // Invalid syntax: the characters are eaten.
    } else if (name.empty()) {
      out.push_back('$');  // "$" not followed by a name stays.
    } else {
      out.append(mapping(name));
    }
    j += w;
    i = j + 1;
  }
  if (i < s.size()) out.append(s.substr(i));
  return out;
}

std::string ExpandConfigEnv(std::string_view text, const EnvLookup& env) {
  return ExpandEnv(text, [&env](std::string_view name) -> std::string {
    if (name == "PID") return std::to_string(::getpid());
    if (!env) return {};
    return env(name).value_or("");
  });
}

Status CheckNoEnvReferences(std::string_view text) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    line_no++;
    size_t first = line.find_first_not_of(" \t\r");
    bool comment = first != std::string_view::npos && line[first] == '#';
    for (size_t k = 0; !comment && k + 1 < line.size(); k++) {
      if (line[k] != '$') continue;
      char c = line[k + 1];
      if (c == '{' || IsAlphaNum(c)) {
        size_t stop = k + 2;
        if (c == '{') {
          size_t close = line.find('}', k);
          stop = close == std::string_view::npos ? line.size() : close + 1;
        } else {
          while (stop < line.size() && IsAlphaNum(line[stop])) stop++;
        }
        return Status::InvalidArgument("line " + std::to_string(line_no) +
                                       ": environment variable reference \"" +
                                       std::string(line.substr(k, stop - k)) +
                                       "\" is not allowed in this config (write the value literally)");
      }
    }
    pos = end + 1;
  }
  return Status::OK();
}

}  // namespace litestream
