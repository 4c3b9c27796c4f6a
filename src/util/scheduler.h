// A small job scheduler: thousands of periodic jobs (one sync job per database, one upload job per
// replica, compaction jobs per level) served by a few worker threads instead of a thread each.
//
// Contract:
//  - A job never runs concurrently with itself. Different jobs may run in parallel on different workers.
//  - Job::Run() returns when it wants to run again: a steady-clock time point, or kNever (only a Kick()
//    wakes it up again).
//  - Kick() makes a job due now. A kick that arrives while the job runs makes it run again right after.
//  - SoftKick() is a kick that respects the job's kick floor (SetKickFloor): it makes the job due at the
//    floor if that is later than now. Change notifications use it so that a busy source coalesces into
//    one run per spacing interval, while an explicit request (Kick) is never delayed.
//  - Remove() waits for a running job to finish; after it returns the job never runs again.
//  - Stop() lets running jobs finish and drops the rest. Run() implementations must be bounded in time
//    (every I/O has a timeout) so that Stop() and Remove() return.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace litestream {

using SteadyTime = std::chrono::steady_clock::time_point;

class Job {
 public:
  virtual ~Job() = default;
  static constexpr SteadyTime kNever = SteadyTime::max();
  // Does one unit of work; returns the next time it wants to run.
  virtual SteadyTime Run() = 0;
};

// Adapts a callable to a Job.
class FunctionJob final : public Job {
 public:
  explicit FunctionJob(std::function<SteadyTime()> fn) : fn_(std::move(fn)) {}
  SteadyTime Run() override { return fn_(); }

 private:
  std::function<SteadyTime()> fn_;
};

class Scheduler {
 public:
  explicit Scheduler(size_t workers);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Registers a job, first due at `first_run`.
  void Add(const std::shared_ptr<Job>& job, SteadyTime first_run = std::chrono::steady_clock::now());
  void Kick(const Job* job);
  void SoftKick(const Job* job);
  // SoftKick() makes the job due no earlier than `floor`.
  void SetKickFloor(const Job* job, SteadyTime floor);
  // Makes the job due at `when` unless it is already due earlier.
  void WakeAt(const Job* job, SteadyTime when);
  void Remove(const Job* job);
  void Stop();

  size_t worker_count() const { return workers_.size(); }

 private:
  struct Entry {
    std::shared_ptr<Job> job;
    SteadyTime due = Job::kNever;
    bool running = false;
    bool kicked_while_running = false;
    bool removed = false;
    SteadyTime kick_floor{};
  };

  void WorkerLoop();
  void Schedule(Entry& entry, SteadyTime due);  // REQUIRES: mu_ held
  void Unschedule(Entry& entry);                // REQUIRES: mu_ held

  std::mutex mu_;
  std::condition_variable cv_;       // workers wait for due jobs
  std::condition_variable done_cv_;  // Remove() waits for a running job
  std::map<const Job*, Entry> entries_;
  std::set<std::pair<SteadyTime, const Job*>> queue_;  // due jobs that are not running
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace litestream
