#include "util/scratch.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace litestream {
namespace {

// Under load a sync reuses them within its spacing (100-400 ms); an idle database is polled once a second.
constexpr std::chrono::milliseconds kIdleLimit{500};

struct Pooled {
  std::unique_ptr<uint8_t[]> mem;
  std::chrono::steady_clock::time_point returned;
};

struct Pool {
  std::mutex mu;
  std::vector<Pooled> free;  // most recently returned last

  void TrimLocked(std::chrono::steady_clock::time_point now) {
    // The oldest are at the front.
    size_t stale = 0;
    while (stale < free.size() && now - free[stale].returned > kIdleLimit) stale++;
    free.erase(free.begin(), free.begin() + static_cast<std::ptrdiff_t>(stale));
  }
};

Pool& GlobalPool() {
  static Pool* pool = new Pool;  // never destroyed: buffers may be returned during static destruction
  return *pool;
}

uint8_t* AlignUp(uint8_t* p) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  return p + ((kScratchAlign - addr % kScratchAlign) % kScratchAlign);
}

}  // namespace

ScratchBuffer::ScratchBuffer(size_t min_bytes) {
  capacity_ = std::max(min_bytes, kScratchBytes);
  if (capacity_ == kScratchBytes) {
    Pool& pool = GlobalPool();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (!pool.free.empty()) {
      mem_ = std::move(pool.free.back().mem);
      pool.free.pop_back();
    }
  }
  if (mem_ == nullptr) mem_ = std::make_unique_for_overwrite<uint8_t[]>(capacity_ + kScratchAlign);
  data_ = AlignUp(mem_.get());
}

ScratchBuffer::~ScratchBuffer() { Release(); }

ScratchBuffer::ScratchBuffer(ScratchBuffer&& other) noexcept
    : mem_(std::move(other.mem_)),
      data_(std::exchange(other.data_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)) {}

ScratchBuffer& ScratchBuffer::operator=(ScratchBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    mem_ = std::move(other.mem_);
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void ScratchBuffer::Release() {
  std::unique_ptr<uint8_t[]> mem = std::move(mem_);
  data_ = nullptr;
  if (mem == nullptr || std::exchange(capacity_, 0) != kScratchBytes) return;  // not the pool's
  Pool& pool = GlobalPool();
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.TrimLocked(now);
  if (pool.free.size() < kMaxPooledScratchBuffers) pool.free.push_back({std::move(mem), now});
}

void TrimScratchBuffers() {
  Pool& pool = GlobalPool();
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.TrimLocked(std::chrono::steady_clock::now());
}

void ReleasePooledScratchBuffers() {
  std::vector<Pooled> doomed;
  Pool& pool = GlobalPool();
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    doomed.swap(pool.free);
  }
}

size_t PooledScratchBuffers() {
  Pool& pool = GlobalPool();
  std::lock_guard<std::mutex> lock(pool.mu);
  return pool.free.size();
}

}  // namespace litestream
