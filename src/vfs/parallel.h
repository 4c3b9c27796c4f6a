// A bounded fan-out for the VFS's storage requests: run n independent tasks with at most `max_parallel` of
// them in flight (the calling thread is one of the workers), then report the first failure in task order.
// Opening a replica lists ten levels and reads the header and page index of every file of the restore
// plan; on object storage each of those is a round trip, so they go out together instead of one by one.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <new>
#include <thread>
#include <vector>

#include "litestream/status.h"

namespace litestream::vfs {

// Runs task(0) ... task(n - 1), at most max_parallel at a time, and returns once all have finished. Tasks
// must be independent (each writes only its own slot). Once a task fails no new task starts; the result is
// the failure of the lowest-numbered failed task, or OK. A task that throws fails with IOError (nothing
// escapes a worker thread). If a thread cannot be started, the tasks run on the threads that did start.
inline Status RunBounded(size_t n, size_t max_parallel, const std::function<Status(size_t)>& task) {
  if (n == 0) return Status::OK();
  std::vector<Status> results(n);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s;
      try {
        s = task(i);
      } catch (const std::bad_alloc&) {
        s = Status::IOError("out of memory");
      } catch (const std::exception& e) {
        s = Status::IOError(e.what());
      } catch (...) {
        s = Status::IOError("internal error");
      }
      if (!s.ok()) failed.store(true, std::memory_order_relaxed);
      results[i] = std::move(s);
    }
  };
  std::vector<std::thread> threads;
  const size_t extra = std::min(n, std::max<size_t>(max_parallel, 1)) - 1;
  try {
    threads.reserve(extra);
    for (size_t t = 0; t < extra; t++) threads.emplace_back(work);
  } catch (...) {
    // Fewer helpers than asked for (no threads or no memory left): the ones running, and this one, finish.
  }
  work();
  for (std::thread& t : threads) t.join();
  for (Status& s : results) {
    if (!s.ok()) return std::move(s);
  }
  return Status::OK();
}

}  // namespace litestream::vfs
