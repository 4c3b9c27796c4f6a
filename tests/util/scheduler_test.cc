#include "util/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace litestream {
namespace {

using namespace std::chrono_literals;

// Waits (bounded) until pred() holds.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

TEST(Scheduler, RunsJobUntilItAsksForNever) {
  Scheduler s(2);
  std::atomic<int> runs{0};
  auto job = std::make_shared<FunctionJob>([&] {
    return ++runs < 3 ? std::chrono::steady_clock::now() : Job::kNever;
  });
  s.Add(job);
  ASSERT_TRUE(WaitFor([&] { return runs == 3; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(runs, 3);
}

TEST(Scheduler, KickWakesAnIdleJob) {
  Scheduler s(1);
  std::atomic<int> runs{0};
  auto job = std::make_shared<FunctionJob>([&] {
    ++runs;
    return Job::kNever;
  });
  s.Add(job, Job::kNever);
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(runs, 0);
  s.Kick(job.get());
  ASSERT_TRUE(WaitFor([&] { return runs == 1; }));
}

TEST(Scheduler, NeverRunsAJobConcurrentlyWithItselfAndRerunsAfterKickDuringRun) {
  Scheduler s(4);
  std::atomic<int> active{0}, max_active{0}, runs{0};
  std::atomic<bool> release{false};
  auto job = std::make_shared<FunctionJob>([&] {
    int now_active = ++active;
    max_active = std::max(max_active.load(), now_active);
    runs++;
    while (runs == 1 && !release) std::this_thread::sleep_for(1ms);
    --active;
    return Job::kNever;
  });
  s.Add(job);
  ASSERT_TRUE(WaitFor([&] { return runs == 1; }));
  s.Kick(job.get());
  s.Kick(job.get());
  release = true;
  ASSERT_TRUE(WaitFor([&] { return runs == 2; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(runs, 2);  // two kicks during one run coalesce into one rerun
  EXPECT_EQ(max_active, 1);
}

TEST(Scheduler, RemoveWaitsForRunningJob) {
  Scheduler s(2);
  std::atomic<bool> started{false}, finished{false};
  auto job = std::make_shared<FunctionJob>([&] {
    started = true;
    std::this_thread::sleep_for(50ms);
    finished = true;
    return std::chrono::steady_clock::now();
  });
  s.Add(job);
  ASSERT_TRUE(WaitFor([&] { return started.load(); }));
  s.Remove(job.get());
  EXPECT_TRUE(finished);
}

TEST(Scheduler, ManyJobsFewThreads) {
  Scheduler s(2);
  constexpr int kJobs = 1000;
  std::atomic<int> runs{0};
  std::vector<std::shared_ptr<Job>> jobs;
  for (int i = 0; i < kJobs; i++) {
    jobs.push_back(std::make_shared<FunctionJob>([&] {
      runs++;
      return Job::kNever;
    }));
    s.Add(jobs.back());
  }
  ASSERT_TRUE(WaitFor([&] { return runs == kJobs; }));
  s.Stop();
}

}  // namespace
}  // namespace litestream
