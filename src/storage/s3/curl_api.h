// libcurl, loaded with dlopen when the first S3 client is created. Linking it would map libcurl and the
// two dozen libraries it depends on (GnuTLS, Kerberos, LDAP, ...) into every process and run their
// initializers, about 4 MiB of resident memory that a replicator writing to a file replica never uses.
#pragma once

#include <curl/curl.h>

#include "litestream/status.h"

namespace litestream::s3 {

struct CurlApi {
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

// Loads libcurl once per process (and runs curl_global_init); later calls return the same table. The
// library stays loaded until the process exits.
Result<const CurlApi*> LoadCurl();

}  // namespace litestream::s3
