#include "storage/registry.h"

#include <map>
#include <mutex>

namespace litestream {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, StorageFactory> factories;
};

Registry& GetRegistry() {
  static Registry* r = new Registry();  // never destroyed: usable from other static destructors
  return *r;
}

thread_local bool registering_builtins = false;

// Registers the built-in backends before anything else, so a later RegisterStorageFactory (a test's fake,
// an embedding application's own backend) replaces them rather than the other way round.
void EnsureBuiltins() {
  if (registering_builtins) return;
  static std::once_flag once;
  std::call_once(once, [] {
    registering_builtins = true;
    RegisterBuiltinStorageBackends();
    registering_builtins = false;
  });
}

}  // namespace

void RegisterStorageFactory(const std::string& type, StorageFactory factory) {
  EnsureBuiltins();
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[type] = std::move(factory);
}

Result<std::unique_ptr<StorageClient>> NewStorageClient(const ReplicaConfig& config) {
  EnsureBuiltins();
  std::string type = config.type.empty() ? "file" : config.type;
  StorageFactory factory;
  {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.factories.find(type);
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    return Status::NotSupported("replica type \"" + type + "\" is not supported by this build");
  }
  return factory(config);
}

std::vector<std::string> RegisteredStorageTypes() {
  EnsureBuiltins();
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [type, factory] : r.factories) out.push_back(type);
  return out;
}

}  // namespace litestream
