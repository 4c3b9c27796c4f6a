#include "support/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "util/file_system.h"

namespace litestream::testing {

size_t CachedPages(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size == 0) {
    if (fd >= 0) ::close(fd);
    return 0;
  }
  void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return 0;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((static_cast<size_t>(st.st_size) + page - 1) / page);
  size_t cached = 0;
  if (::mincore(map, static_cast<size_t>(st.st_size), in_core.data()) == 0) {
    for (unsigned char c : in_core) cached += c & 1;
  }
  ::munmap(map, static_cast<size_t>(st.st_size));
  return cached;
}

std::optional<size_t> UnwrittenPages(const std::string& path) {
  constexpr long kCachestat = 451;  // not yet in every libc's headers
  struct {
    uint64_t offset, length;  // length 0: to the end of the file
  } range{0, 0};
  struct {
    uint64_t cache, dirty, writeback, evicted, recently_evicted;
  } stat{};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  const long rc = ::syscall(kCachestat, fd, &range, &stat, 0);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  return static_cast<size_t>(stat.dirty + stat.writeback);
}

void EvictFromPageCache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // only clean pages can be dropped
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

void CachePage(const std::string& path, size_t offset) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
  uint8_t page[4096];
  (void)::pread(fd, page, sizeof(page), static_cast<off_t>(offset));
  ::close(fd);
}

bool TakesDropBehindReads(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  uint8_t byte = 0;
  struct iovec iov = {&byte, 1};
  const bool ok = ::preadv2(fd, &iov, 1, 0, kRwfDontCache) >= 0;
  ::close(fd);
  return ok;
}

bool TakesDropBehindWrites(const std::string& dir) {
  const std::string probe = dir + "/drop-behind-probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  uint8_t byte = 0;
  struct iovec iov = {&byte, 1};
  const bool ok = ::pwritev2(fd, &iov, 1, -1, kRwfDontCache) >= 0;
  ::close(fd);
  ::unlink(probe.c_str());
  return ok;
}

}  // namespace litestream::testing
