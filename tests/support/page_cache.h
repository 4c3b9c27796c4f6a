// The page cache as tests observe it: which of a file's pages it holds, and evicting them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace litestream::testing {

// How many of `path`'s pages the page cache holds (mincore of a mapping; 0 for an empty file).
size_t CachedPages(const std::string& path);
// How many of `path`'s cached pages are dirty or being written back (cachestat(2), Linux 6.5+); nullopt
// where the kernel cannot say.
std::optional<size_t> UnwrittenPages(const std::string& path);
// Writes `path` back and drops its pages from the page cache.
void EvictFromPageCache(const std::string& path);
// Caches the page at `offset` of `path` and no other (a read with readahead off).
void CachePage(const std::string& path, size_t offset);
// Whether this kernel and `path`'s file system take reads that drop what they cached
// (preadv2 RWF_DONTCACHE, Linux 6.14+).
bool TakesDropBehindReads(const std::string& path);
// Whether this kernel and the file system of directory `dir` take writes whose pages leave the page cache
// once written back (pwritev2 RWF_DONTCACHE).
bool TakesDropBehindWrites(const std::string& dir);

}  // namespace litestream::testing
