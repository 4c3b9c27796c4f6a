// The backends compiled into this build. One line per backend; see registry.h.
#include "storage/file/file_storage.h"
#include "storage/registry.h"
#include "storage/s3/s3_storage.h"

namespace litestream {

void RegisterBuiltinStorageBackends() {
  RegisterFileStorage();
  s3::RegisterS3Storage();
}

}  // namespace litestream
