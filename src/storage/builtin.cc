// The backends compiled into this build. One line per backend; see registry.h.
#include "storage/file/file_storage.h"
#include "storage/registry.h"

namespace litestream {

void RegisterBuiltinStorageBackends() { RegisterFileStorage(); }

}  // namespace litestream
