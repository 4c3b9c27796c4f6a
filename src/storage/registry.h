// Storage backends by replica type. Each backend lives in src/storage/<type>/ and registers a factory;
// NewStorageClient picks the factory for ReplicaConfig::type (already resolved from the URL scheme).
//
// Adding a backend: write src/storage/<type>/, then add one line to RegisterBuiltinStorageBackends() in
// builtin.cc. (Self-registration from a static initializer is not used: the library is a static archive,
// and the linker drops object files nothing references, silently losing their initializers.)
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "litestream/config.h"
#include "litestream/storage.h"

namespace litestream {

using StorageFactory = std::function<Result<std::unique_ptr<StorageClient>>(const ReplicaConfig&)>;

// Registers (or replaces) the factory for `type` ("file", "s3", ...). Thread-safe.
void RegisterStorageFactory(const std::string& type, StorageFactory factory);

// A client for `config`. NotSupported naming the type if no backend for it is built in; the factory's
// error otherwise.
Result<std::unique_ptr<StorageClient>> NewStorageClient(const ReplicaConfig& config);

// Types with a registered factory, sorted.
std::vector<std::string> RegisteredStorageTypes();

// Registers every backend compiled into this build. Called once, automatically, by the functions above.
void RegisterBuiltinStorageBackends();

}  // namespace litestream
