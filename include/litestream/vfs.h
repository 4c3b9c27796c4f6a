/* The read-replica VFS for programs that link SQLite themselves (docs/vfs.md). The loadable extension
 * litestream-vfs.so registers the same VFS from sqlite3_litestreamvfs_init.
 *
 * After litestream_vfs_register(), open a replica read-only with a URI filename:
 *   file:app.db?vfs=litestream&replica_url=file:///backups/app   (or set LITESTREAM_REPLICA_URL)
 * URI parameters: replica_url, poll_interval (Go duration, default 1s), cache_size (bytes, default 10 MiB),
 * open_timeout (how long an open waits for an empty replica to get a first file; default 0).
 */
#ifndef LITESTREAM_VFS_H_
#define LITESTREAM_VFS_H_

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the VFS "litestream" (once; later calls only change whether it is the default). Returns an
 * SQLite result code. */
int litestream_vfs_register(int make_default);

#ifdef __cplusplus
}
#endif

#endif /* LITESTREAM_VFS_H_ */
