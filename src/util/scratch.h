// Large scratch buffers (the 1 MiB reads and writes of a sync) from a small process-wide pool.
//
// glibc hands every allocation over its mmap threshold (256 KiB, set by the CLI) straight from the
// kernel, as fresh zeroed pages: under a bulk load each L0 file then cost ~1,000 page faults and 6% of
// the replicator's CPU. The pool keeps a few buffers for reuse while work keeps coming, and frees the
// ones idle for 500 ms (TrimScratchBuffers), so an idle process holds none of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace litestream {

// Requests up to this size share the pool (each gets a buffer of exactly this size); bigger ones are
// plain allocations.
inline constexpr size_t kScratchBytes = (size_t{1} << 20) + (size_t{64} << 10);
// data() is aligned to this (and kScratchBytes is a multiple of it), as O_DIRECT writes want.
inline constexpr size_t kScratchAlign = 4096;

// The pool keeps at most this many. A sync holds three at once (WAL scan, page run, encoder output), a
// snapshot five (its runs read ahead); a few databases may sync together.
inline constexpr size_t kMaxPooledScratchBuffers = 6;

// Move-only; returns its memory to the pool when destroyed. Contents start unspecified.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  explicit ScratchBuffer(size_t min_bytes);
  ~ScratchBuffer();
  ScratchBuffer(ScratchBuffer&& other) noexcept;
  ScratchBuffer& operator=(ScratchBuffer&& other) noexcept;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  void Release();

  std::unique_ptr<uint8_t[]> mem_;  // capacity_ + kScratchAlign bytes; data_ points into it
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
};

// Frees pooled buffers unused for over 500 ms. Cheap; called by every poll of a database.
void TrimScratchBuffers();

// Frees every pooled buffer now: after a one-off job that needed buffers (a level-9 snapshot), not work that
// comes back soon.
void ReleasePooledScratchBuffers();

// Buffers waiting in the pool (tests).
size_t PooledScratchBuffers();

}  // namespace litestream
