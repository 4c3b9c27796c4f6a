// The clock seam: components take a Clock* so that tests control time (retention ages, checkpoint
// intervals, backoff) with a ManualClock instead of sleeping.
#pragma once

#include <chrono>
#include <mutex>

#include "litestream/storage.h"  // SystemTime

namespace litestream {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, millisecond precision (timestamps written into files, file ages).
  virtual SystemTime Now() = 0;
  // Monotonic time (intervals, deadlines, backoff).
  virtual std::chrono::steady_clock::time_point SteadyNow() = 0;

  // The system clocks. A stateless process-wide singleton; never delete it.
  static Clock* Real();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  // 2024-01-01T00:00:00Z, a fixed start so that tests are reproducible.
  static constexpr SystemTime kDefaultStart{std::chrono::milliseconds(1704067200000)};

  explicit ManualClock(SystemTime start = kDefaultStart);

  SystemTime Now() override;
  std::chrono::steady_clock::time_point SteadyNow() override;

  // Moves both clocks forward by `d` (negative values are ignored: time never goes back).
  void Advance(std::chrono::milliseconds d);
  // Sets the wall clock (it may go backwards, as a real one can). The steady clock does not move.
  void SetNow(SystemTime t);

 private:
  std::mutex mu_;
  SystemTime now_;
  std::chrono::steady_clock::time_point steady_;
};

}  // namespace litestream
