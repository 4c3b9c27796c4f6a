#include "storage/s3/curl_api.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace litestream::s3 {
namespace {

template <typename Fn>
bool Bind(void* lib, const char* name, Fn* fn) {
  *fn = reinterpret_cast<Fn>(dlsym(lib, name));
  return *fn != nullptr;
}

Result<const CurlApi*> Load() {
  static CurlApi api;
  void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    return Status::FailedPrecondition(std::string("s3: cannot load libcurl (install libcurl4): ") +
                                      (why != nullptr ? why : "dlopen failed"));
  }
  CURLcode (*global_init)(long) = nullptr;
  const bool ok = Bind(lib, "curl_global_init", &global_init) && Bind(lib, "curl_easy_init", &api.easy_init) &&
                  Bind(lib, "curl_easy_cleanup", &api.easy_cleanup) &&
                  Bind(lib, "curl_easy_reset", &api.easy_reset) && Bind(lib, "curl_easy_setopt", &api.easy_setopt) &&
                  Bind(lib, "curl_easy_perform", &api.easy_perform) &&
                  Bind(lib, "curl_easy_getinfo", &api.easy_getinfo) &&
                  Bind(lib, "curl_easy_strerror", &api.easy_strerror) &&
                  Bind(lib, "curl_slist_append", &api.slist_append) &&
                  Bind(lib, "curl_slist_free_all", &api.slist_free_all);
  if (!ok) return Status::FailedPrecondition("s3: libcurl.so.4 lacks a function we need; is it libcurl 7.x/8.x?");
  if (CURLcode rc = global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    return Status::FailedPrecondition("s3: curl_global_init failed with code " + std::to_string(rc));
  }
  return &api;
}

}  // namespace

Result<const CurlApi*> LoadCurl() {
  static std::once_flag once;
  static Result<const CurlApi*> loaded = Status::FailedPrecondition("s3: libcurl not loaded");
  std::call_once(once, [] { loaded = Load(); });
  return loaded;
}

}  // namespace litestream::s3
