#include "config/yaml_decode.h"

#include <cctype>
#include <limits>

#include "config/internal.h"

namespace litestream::config_internal {
namespace {

Status Bad(const Value& v, const std::string& want) {
  std::string got;
  if (v.node.IsScalar()) {
    got = ", got \"" + v.node.Scalar() + "\"";
  } else if (v.node.IsSequence()) {
    got = ", got a list";
  } else if (v.node.IsMap()) {
    got = ", got a mapping";
  }
  return Status::InvalidArgument(v.where + ": expected " + want + got);
}

}  // namespace

Result<KeyMap> ToKeyMap(const YAML::Node& node, const std::string& prefix, const std::string& what) {
  KeyMap out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsMap()) {
    return Status::InvalidArgument((what.empty() ? std::string("config") : what) + ": expected a mapping");
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;
    const std::string& key = kv.first.Scalar();
    const YAML::Node& value = kv.second;
    if (!value.IsDefined() || value.IsNull()) continue;
    if (value.IsScalar() && value.Scalar().empty()) continue;
    Put(&out, key, Value{value, prefix + key});
  }
  return out;
}

Value MakeValue(const std::string& scalar, const std::string& where) {
  return Value{YAML::Node(scalar), where};
}

void Put(KeyMap* map, const std::string& key, Value value) {
  map->erase(key);
  map->emplace(key, std::move(value));
}

Status DecodeString(const Value& v, std::string* out) {
  if (!v.node.IsScalar()) return Bad(v, "a string");
  *out = v.node.Scalar();
  return Status::OK();
}

Status DecodeBool(const Value& v, bool* out) {
  if (!v.node.IsScalar()) return Bad(v, "true or false");
  std::string s = v.node.Scalar();
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "true" || s == "yes" || s == "on" || s == "y") {
    *out = true;
  } else if (s == "false" || s == "no" || s == "off" || s == "n") {
    *out = false;
  } else {
    return Bad(v, "true or false");
  }
  return Status::OK();
}

Status DecodeOptBool(const Value& v, std::optional<bool>* out) {
  bool b = false;
  LS_RETURN_IF_ERROR(DecodeBool(v, &b));
  *out = b;
  return Status::OK();
}

Status DecodeInt64(const Value& v, int64_t* out) {
  if (!v.node.IsScalar() || !ParseYamlInt(v.node.Scalar(), out)) return Bad(v, "an integer");
  return Status::OK();
}

Status DecodeInt(const Value& v, int* out) {
  int64_t n = 0;
  LS_RETURN_IF_ERROR(DecodeInt64(v, &n));
  if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
    return Status::InvalidArgument(v.where + ": integer out of range: " + v.node.Scalar());
  }
  *out = static_cast<int>(n);
  return Status::OK();
}

Status DecodeOptInt(const Value& v, std::optional<int>* out) {
  int n = 0;
  LS_RETURN_IF_ERROR(DecodeInt(v, &n));
  *out = n;
  return Status::OK();
}

Status DecodeUint32(const Value& v, uint32_t* out) {
  int64_t n = 0;
  LS_RETURN_IF_ERROR(DecodeInt64(v, &n));
  if (n < 0 || n > std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument(v.where + ": integer out of range: " + v.node.Scalar());
  }
  *out = static_cast<uint32_t>(n);
  return Status::OK();
}

Status DecodeDuration(const Value& v, Duration* out) {
  if (!v.node.IsScalar()) return Bad(v, "a duration such as \"10s\"");
  const std::string& s = v.node.Scalar();
  int64_t n = 0;
  if (ParseYamlInt(s, &n)) {
    // Upstream reads a bare integer as nanoseconds, which is never what was meant; only 0 is accepted.
    if (n == 0) {
      *out = Duration(0);
      return Status::OK();
    }
    return Status::InvalidArgument(v.where + ": invalid duration \"" + s + "\": missing unit (write e.g. \"" +
                                   s + "s\")");
  }
  Result<Duration> d = ParseDuration(s);
  if (!d.ok()) return d.status().WithContext(v.where);
  *out = *d;
  return Status::OK();
}

Status DecodeOptDuration(const Value& v, std::optional<Duration>* out) {
  Duration d{};
  LS_RETURN_IF_ERROR(DecodeDuration(v, &d));
  *out = d;
  return Status::OK();
}

Status DecodeSize(const Value& v, int64_t* out) {
  if (!v.node.IsScalar()) return Bad(v, "a size such as \"5MiB\"");
  Result<int64_t> n = ParseByteSize(v.node.Scalar());
  if (!n.ok()) return n.status().WithContext(v.where);
  *out = *n;
  return Status::OK();
}

Status DecodeOptSize(const Value& v, std::optional<int64_t>* out) {
  int64_t n = 0;
  LS_RETURN_IF_ERROR(DecodeSize(v, &n));
  *out = n;
  return Status::OK();
}

Status DecodeStringList(const Value& v, std::vector<std::string>* out) {
  if (!v.node.IsSequence()) return Bad(v, "a list of strings");
  out->clear();
  size_t i = 0;
  for (const YAML::Node& e : v.node) {
    if (!e.IsScalar())
      return Status::InvalidArgument(v.where + "[" + std::to_string(i) + "]: expected a string");
    out->push_back(e.Scalar());
    i++;
  }
  return Status::OK();
}

}  // namespace litestream::config_internal
