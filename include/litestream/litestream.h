/* The stable C API of the embeddable replication service (liblitestream.so), for C programs and for
 * other languages through their FFI (tests/capi/ctypes_test.py drives it from Python's ctypes).
 *
 * Conventions: every function returns LITESTREAM_OK (0) or an error code below. When a function fails and
 * `errmsg` is not NULL, *errmsg receives a message to release with litestream_free(). Strings returned
 * through out-parameters are released the same way. Handles are thread-safe; a handle must not be used
 * after litestream_service_free(). Nothing here installs signal handlers, changes the environment or exits.
 */
#ifndef LITESTREAM_LITESTREAM_H_
#define LITESTREAM_LITESTREAM_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LITESTREAM_API __attribute__((visibility("default")))
#else
#define LITESTREAM_API
#endif

/* Error codes (the same classes as litestream::StatusCode). */
enum {
  LITESTREAM_OK = 0,
  LITESTREAM_NOT_FOUND = 1,
  LITESTREAM_CORRUPTION = 2,
  LITESTREAM_IO_ERROR = 3,
  LITESTREAM_INVALID_ARGUMENT = 4,
  LITESTREAM_DISK_FULL = 5,
  LITESTREAM_BUSY = 6,
  LITESTREAM_UNAVAILABLE = 7,
  LITESTREAM_TIMEOUT = 8,
  LITESTREAM_CANCELLED = 9,
  LITESTREAM_NOT_SUPPORTED = 10,
  LITESTREAM_FAILED_PRECONDITION = 11
};

/* Log levels passed to the log callback. */
enum {
  LITESTREAM_LOG_TRACE = 0,
  LITESTREAM_LOG_DEBUG = 1,
  LITESTREAM_LOG_INFO = 2,
  LITESTREAM_LOG_WARN = 3,
  LITESTREAM_LOG_ERROR = 4
};

/* Flags of litestream_service_new. */
#define LITESTREAM_EXPAND_ENV 0x1       /* expand $VAR in the YAML (the CLI's default) */
#define LITESTREAM_REJECT_ENV_REFS 0x2  /* any $VAR or ${VAR} outside comments is an error */

typedef struct litestream_service litestream_service;

/* Receives every log line of one service: level, message, and the structured fields as a JSON object
 * ({"db":"/data/app.db",...}). Called from the service's threads, possibly concurrently. */
typedef void (*litestream_log_fn)(void* user_data, int level, const char* message, const char* fields_json);

LITESTREAM_API const char* litestream_version(void);
LITESTREAM_API void litestream_free(void* p);

/* Builds a service from litestream.yml bytes. log_fn may be NULL (logs discarded); min_level < 0 takes the
 * config's logging.level. */
LITESTREAM_API int litestream_service_new(const char* yaml, size_t yaml_len, int flags, litestream_log_fn log_fn,
                                          void* log_user_data, int min_level, litestream_service** out,
                                          char** errmsg);
/* Builds a service from the latest Litestream config (scope "litestream", yaml) stored age-encrypted in the
 * app_config table of db_path, decrypted with the age identity file at age_key_path. Environment references
 * in that config are errors. log_fn and min_level as for litestream_service_new. */
LITESTREAM_API int litestream_service_new_from_config_db(const char* db_path, const char* age_key_path,
                                                         litestream_log_fn log_fn, void* log_user_data,
                                                         int min_level, litestream_service** out, char** errmsg);
/* Opens every database and syncs each once; fails (and runs nothing) if any cannot start. */
LITESTREAM_API int litestream_service_start(litestream_service* service, char** errmsg);
/* Final sync and upload, retried for at most timeout_ms. Idempotent. */
LITESTREAM_API int litestream_service_stop(litestream_service* service, int64_t timeout_ms, char** errmsg);
/* Stops (with the config's shutdown-sync-timeout) if still running, then releases the handle. */
LITESTREAM_API void litestream_service_free(litestream_service* service);

/* Adds a database replicating to replica_url while running, or removes one (after a final sync). */
LITESTREAM_API int litestream_register(litestream_service* service, const char* db_path, const char* replica_url,
                                       char** errmsg);
LITESTREAM_API int litestream_unregister(litestream_service* service, const char* db_path, char** errmsg);

/* Syncs every commit made before the call; with wait_upload != 0 returns only once the replica holds it
 * (group commit: concurrent callers share one upload). txid/replicated_txid may be NULL. */
LITESTREAM_API int litestream_sync(litestream_service* service, const char* db_path, int wait_upload,
                                   int64_t timeout_ms, uint64_t* txid, uint64_t* replicated_txid, char** errmsg);
LITESTREAM_API int litestream_wait_replicated(litestream_service* service, const char* db_path, uint64_t txid,
                                              int64_t timeout_ms, char** errmsg);

/* Status as JSON: one object for db_path, or an array of all databases when db_path is NULL. Fields:
 * path, replica, local_txid, replica_txid (16-digit hex), in_sync, last_sync_at (RFC 3339 or null),
 * lag_ms, last_error. */
LITESTREAM_API int litestream_status_json(litestream_service* service, const char* db_path, char** json,
                                          char** errmsg);

/* Restores replica_url into output_path: the latest state, or txid (if non-zero), or timestamp (RFC 3339,
 * if not NULL). Flags: LITESTREAM_RESTORE_* below. */
#define LITESTREAM_RESTORE_IF_DB_NOT_EXISTS 0x1
#define LITESTREAM_RESTORE_IF_REPLICA_EXISTS 0x2
#define LITESTREAM_RESTORE_FORCE 0x4
#define LITESTREAM_RESTORE_QUICK_CHECK 0x8
LITESTREAM_API int litestream_restore(const char* replica_url, const char* output_path, uint64_t txid,
                                      const char* timestamp, int flags, uint64_t* restored_txid, char** errmsg);
/* Restores db_path from replica_url if the file does not exist ("no backup" is not an error), then runs
 * quick_check. */
LITESTREAM_API int litestream_ensure_exists(const char* db_path, const char* replica_url, char** errmsg);

#ifdef __cplusplus
}
#endif

#endif /* LITESTREAM_LITESTREAM_H_ */
