// Bounded waiting for tests: polls a condition until it holds or a deadline passes.
#pragma once

#include <chrono>
#include <thread>

namespace litestream::testing {

// Polls pred() every `poll` until it returns true or `limit` has passed; returns its last value.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(20),
             std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(poll);
  }
  return pred();
}

}  // namespace litestream::testing
