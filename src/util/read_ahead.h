// Reads ahead of the code that uses what is read, on a helper thread: a snapshot's sync waited for each
// 1 MiB read of the database and then encoded it, 0.7-1.1 s of reads plus 0.5 s of encoding for 1 GiB, one
// after the other. A producer fills buffers in order (on the helper thread) while the consumer takes the
// ones already filled (on its own).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "litestream/status.h"
#include "util/scratch.h"

namespace litestream {

// `Meta` describes what the producer put in a buffer (for a page run: its first page number and count).
template <typename Meta>
class ReadAhead {
 public:
  // Fills `buf` (buffer_bytes long) and describes it in `meta`; false once there is nothing more. Runs on the
  // helper thread (or on the consumer's, if no thread could be started), one call at a time.
  using Producer = std::function<Result<bool>(Meta* meta, uint8_t* buf)>;

  // At most `depth` (>= 2) buffers exist: the one the consumer holds and up to depth - 1 filled ahead.
  ReadAhead(size_t buffer_bytes, size_t depth, Producer produce) : produce_(std::move(produce)) {
    slots_.resize(std::max<size_t>(depth, 2));
    for (Slot& slot : slots_) slot.buffer = ScratchBuffer(buffer_bytes);
    try {
      helper_ = std::thread([this] { Run(); });
    } catch (const std::system_error&) {  // no thread to spare: Next() produces inline
    }
  }

  ~ReadAhead() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    changed_.notify_all();
    if (helper_.joinable()) helper_.join();
  }

  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next buffer in order: false at the end, or the producer's error. `*data` stays valid until the
  // next call.
  Result<bool> Next(Meta* meta, const uint8_t** data) {
    std::unique_lock<std::mutex> lock(mu_);
    if (holding_) {  // the previous buffer goes back to the producer
      holding_ = false;
      taken_++;
      changed_.notify_all();
    }
    Slot& slot = slots_[taken_ % slots_.size()];
    if (!helper_.joinable() && !done_ && filled_ == taken_) {
      lock.unlock();
      Fill(slot);
      lock.lock();
    }
    changed_.wait(lock, [&] { return filled_ > taken_ || done_; });
    if (filled_ == taken_) return end_status_.ok() ? Result<bool>(false) : Result<bool>(end_status_);
    holding_ = true;
    *meta = slot.meta;
    *data = slot.buffer.data();
    return true;
  }

 private:
  struct Slot {
    ScratchBuffer buffer;
    Meta meta{};
  };

  void Run() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        // Slots taken_ .. taken_ + size - 1 are distinct; the consumer holds at most slot taken_, filled.
        changed_.wait(lock, [&] { return stop_ || filled_ < taken_ + slots_.size(); });
        if (stop_) return;
      }
      if (!Fill(slots_[filled_ % slots_.size()])) return;
    }
  }

  // Produces into `slot`, the next one in order; false once the producer is done (the end or an error).
  bool Fill(Slot& slot) {
    Result<bool> more = produce_(&slot.meta, slot.buffer.data());
    std::lock_guard<std::mutex> lock(mu_);
    if (more.ok() && *more) {
      filled_++;
    } else {
      done_ = true;
      if (!more.ok()) end_status_ = more.status();
    }
    changed_.notify_all();
    return !done_;
  }

  const Producer produce_;
  std::vector<Slot> slots_;
  std::thread helper_;
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t filled_ = 0;  // buffers produced so far
  uint64_t taken_ = 0;   // buffers the consumer has given back
  bool holding_ = false;
  bool done_ = false;
  bool stop_ = false;
  Status end_status_;
};

}  // namespace litestream
