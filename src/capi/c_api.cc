// The C API (include/litestream/litestream.h) over litestream::Service. Every entry point catches
// everything: no C++ exception crosses into a C (or Python) caller.
#include "litestream/litestream.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "litestream/service.h"
#include "restore/describe.h"
#include "storage/registry.h"
#include "util/time_format.h"

struct litestream_service {
  std::unique_ptr<litestream::Service> service;
};

namespace litestream {
namespace {

using std::chrono::milliseconds;

char* CopyString(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p != nullptr) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

int Fail(const Status& s, char** errmsg) {
  if (errmsg != nullptr) *errmsg = CopyString(s.message().empty() ? std::string(StatusCodeName(s.code())) : s.message());
  return static_cast<int>(s.code());
}

int Report(const Status& s, char** errmsg) { return s.ok() ? LITESTREAM_OK : Fail(s, errmsg); }

// Runs `fn` (returning Status) and turns anything thrown into an error code.
template <typename Fn>
int Guard(char** errmsg, Fn&& fn) {
  if (errmsg != nullptr) *errmsg = nullptr;
  try {
    return Report(fn(), errmsg);
  } catch (const std::exception& e) {
    return Fail(Status::IOError(std::string("internal error: ") + e.what()), errmsg);
  } catch (...) {
    return Fail(Status::IOError("internal error"), errmsg);
  }
}

class CallbackSink final : public LogSink {
 public:
  CallbackSink(litestream_log_fn fn, void* user_data) : fn_(fn), user_data_(user_data) {}
  void Write(LogLevel level, std::string_view message, const std::vector<LogField>& fields) override {
    nlohmann::json obj = nlohmann::json::object();
    for (const auto& f : fields) obj[f.key] = f.value;
    const std::string fields_json = obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string msg(message);
    fn_(user_data_, static_cast<int>(level), msg.c_str(), fields_json.c_str());
  }

 private:
  litestream_log_fn fn_;
  void* user_data_;
};

nlohmann::json StatusJson(const DatabaseStatus& s) {
  nlohmann::json j;
  j["path"] = s.path;
  j["replica"] = s.replica;
  j["local_txid"] = FormatTXID(s.local_txid);
  j["replica_txid"] = FormatTXID(s.replica_txid);
  j["in_sync"] = s.in_sync;
  j["last_sync_at"] = s.last_sync_at.time_since_epoch().count() == 0 ? nlohmann::json(nullptr)
                                                                     : nlohmann::json(FormatTimestamp(s.last_sync_at));
  j["lag_ms"] = s.lag.count();
  j["last_error"] = s.last_error;
  return j;
}

Status NeedArg(const void* p, const char* name) {
  return p != nullptr ? Status::OK() : Status::InvalidArgument(std::string(name) + " is required");
}

Result<std::unique_ptr<StorageClient>> ClientForUrl(const char* url) {
  LS_ASSIGN_OR_RETURN(ReplicaConfig replica, ParseReplicaURL(url));
  return NewStorageClient(replica);
}

}  // namespace
}  // namespace litestream

using namespace litestream;

extern "C" {

const char* litestream_version(void) { return LITESTREAM_VERSION; }

void litestream_free(void* p) { std::free(p); }

namespace {
Result<ServiceOptions> MakeServiceOptions(litestream_log_fn log_fn, void* log_user_data, int min_level) {
  ServiceOptions options;
  if (log_fn != nullptr) options.log_sink = std::make_shared<CallbackSink>(log_fn, log_user_data);
  if (min_level >= 0) {
    if (min_level > LITESTREAM_LOG_ERROR) return Status::InvalidArgument("min_level out of range");
    options.log_level = static_cast<LogLevel>(min_level);
  }
  return options;
}
}  // namespace

int litestream_service_new(const char* yaml, size_t yaml_len, int flags, litestream_log_fn log_fn,
                           void* log_user_data, int min_level, litestream_service** out, char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(yaml, "yaml"));
    LS_RETURN_IF_ERROR(NeedArg(out, "out"));
    *out = nullptr;
    ParseOptions parse;
    parse.expand_env = (flags & LITESTREAM_EXPAND_ENV) != 0;
    parse.reject_env_references = (flags & LITESTREAM_REJECT_ENV_REFS) != 0;
    LS_ASSIGN_OR_RETURN(ServiceOptions options, MakeServiceOptions(log_fn, log_user_data, min_level));
    LS_ASSIGN_OR_RETURN(auto service, Service::FromYaml(std::string_view(yaml, yaml_len), parse, options));
    *out = new litestream_service{std::move(service)};
    return Status::OK();
  });
}

int litestream_service_new_from_config_db(const char* db_path, const char* age_key_path, litestream_log_fn log_fn,
                                          void* log_user_data, int min_level, litestream_service** out,
                                          char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(db_path, "db_path"));
    LS_RETURN_IF_ERROR(NeedArg(age_key_path, "age_key_path"));
    LS_RETURN_IF_ERROR(NeedArg(out, "out"));
    *out = nullptr;
    LS_ASSIGN_OR_RETURN(ServiceOptions options, MakeServiceOptions(log_fn, log_user_data, min_level));
    LS_ASSIGN_OR_RETURN(auto service, Service::FromConfigDb(db_path, age_key_path, std::move(options)));
    *out = new litestream_service{std::move(service)};
    return Status::OK();
  });
}

int litestream_service_start(litestream_service* service, char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(service, "service"));
    return service->service->Start();
  });
}

int litestream_service_stop(litestream_service* service, int64_t timeout_ms, char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(service, "service"));
    return service->service->Stop(milliseconds(std::max<int64_t>(timeout_ms, 0)));
  });
}

void litestream_service_free(litestream_service* service) {
  try {
    delete service;
  } catch (...) {
  }
}

int litestream_register(litestream_service* service, const char* db_path, const char* replica_url, char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(service, "service"));
    LS_RETURN_IF_ERROR(NeedArg(db_path, "db_path"));
    LS_RETURN_IF_ERROR(NeedArg(replica_url, "replica_url"));
    DbConfig db;
    LS_ASSIGN_OR_RETURN(db.path, ExpandPath(db_path));
    LS_ASSIGN_OR_RETURN(db.replica, ParseReplicaURL(replica_url));
    return service->service->Register(db);
  });
}

int litestream_unregister(litestream_service* service, const char* db_path, char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(service, "service"));
    LS_RETURN_IF_ERROR(NeedArg(db_path, "db_path"));
    return service->service->Unregister(db_path);
  });
}

int litestream_sync(litestream_service* service, const char* db_path, int wait_upload, int64_t timeout_ms,
                    uint64_t* txid, uint64_t* replicated_txid, char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(service, "service"));
    LS_RETURN_IF_ERROR(NeedArg(db_path, "db_path"));
    LS_ASSIGN_OR_RETURN(SyncOutcome r, service->service->Sync(db_path, wait_upload != 0,
                                                              milliseconds(std::max<int64_t>(timeout_ms, 0))));
    if (txid != nullptr) *txid = r.txid;
    if (replicated_txid != nullptr) *replicated_txid = r.replicated_txid;
    return Status::OK();
  });
}

int litestream_wait_replicated(litestream_service* service, const char* db_path, uint64_t txid, int64_t timeout_ms,
                               char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(service, "service"));
    LS_RETURN_IF_ERROR(NeedArg(db_path, "db_path"));
    return service->service->WaitReplicated(db_path, txid, milliseconds(std::max<int64_t>(timeout_ms, 0)));
  });
}

int litestream_status_json(litestream_service* service, const char* db_path, char** json, char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(service, "service"));
    LS_RETURN_IF_ERROR(NeedArg(json, "json"));
    nlohmann::json out;
    if (db_path != nullptr) {
      LS_ASSIGN_OR_RETURN(DatabaseStatus s, service->service->GetStatus(db_path));
      out = StatusJson(s);
    } else {
      out = nlohmann::json::array();
      for (const auto& s : service->service->Statuses()) out.push_back(StatusJson(s));
    }
    *json = CopyString(out.dump());
    return *json != nullptr ? Status::OK() : Status::IOError("out of memory");
  });
}

int litestream_restore(const char* replica_url, const char* output_path, uint64_t txid, const char* timestamp,
                       int flags, uint64_t* restored_txid, char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(replica_url, "replica_url"));
    LS_RETURN_IF_ERROR(NeedArg(output_path, "output_path"));
    LS_ASSIGN_OR_RETURN(auto client, ClientForUrl(replica_url));
    RestoreOptions o;
    o.output_path = output_path;
    o.txid = txid;
    if (timestamp != nullptr) {
      if (txid != 0) return Status::InvalidArgument("cannot restore to both a txid and a timestamp");
      LS_ASSIGN_OR_RETURN(SystemTime t, ParseRFC3339(timestamp));
      o.timestamp = t;
    }
    o.if_db_not_exists = (flags & LITESTREAM_RESTORE_IF_DB_NOT_EXISTS) != 0;
    o.if_replica_exists = (flags & LITESTREAM_RESTORE_IF_REPLICA_EXISTS) != 0;
    o.force = (flags & LITESTREAM_RESTORE_FORCE) != 0;
    o.integrity_check = (flags & LITESTREAM_RESTORE_QUICK_CHECK) != 0 ? IntegrityCheck::kQuick : IntegrityCheck::kNone;
    o.source_label = replica_url;
    LS_ASSIGN_OR_RETURN(RestoreResult r, Restore(*client, o));
    if (restored_txid != nullptr) *restored_txid = r.txid;
    return Status::OK();
  });
}

int litestream_ensure_exists(const char* db_path, const char* replica_url, char** errmsg) {
  return Guard(errmsg, [&]() -> Status {
    LS_RETURN_IF_ERROR(NeedArg(db_path, "db_path"));
    LS_RETURN_IF_ERROR(NeedArg(replica_url, "replica_url"));
    DbConfig db;
    LS_ASSIGN_OR_RETURN(db.path, ExpandPath(db_path));
    LS_ASSIGN_OR_RETURN(db.replica, ParseReplicaURL(replica_url));
    return EnsureExists(db);
  });
}

}  // extern "C"
