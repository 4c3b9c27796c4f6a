#include "util/clock.h"

namespace litestream {
namespace {

class RealClock final : public Clock {
 public:
  SystemTime Now() override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
  std::chrono::steady_clock::time_point SteadyNow() override { return std::chrono::steady_clock::now(); }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock* clock = new RealClock();  // never destroyed: usable during static destruction
  return clock;
}

// The steady clock starts one hour after its epoch so that tests may subtract durations from it.
ManualClock::ManualClock(SystemTime start)
    : now_(start), steady_(std::chrono::steady_clock::time_point(std::chrono::hours(1))) {}

SystemTime ManualClock::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

std::chrono::steady_clock::time_point ManualClock::SteadyNow() {
  std::lock_guard<std::mutex> lock(mu_);
  return steady_;
}

void ManualClock::Advance(std::chrono::milliseconds d) {
  if (d.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
  steady_ += d;
}

void ManualClock::SetNow(SystemTime t) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = t;
}

}  // namespace litestream
