#include "util/scheduler.h"

#include <algorithm>

namespace litestream {

Scheduler::Scheduler(size_t workers) {
  if (workers == 0) workers = 1;
  for (size_t i = 0; i < workers; i++) workers_.emplace_back([this] { WorkerLoop(); });
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Schedule(Entry& entry, SteadyTime due) {
  Unschedule(entry);
  entry.due = due;
  if (due != Job::kNever) {
    queue_.emplace(due, entry.job.get());
    cv_.notify_one();
  }
}

void Scheduler::Unschedule(Entry& entry) {
  if (entry.due != Job::kNever && !entry.running) queue_.erase({entry.due, entry.job.get()});
  entry.due = Job::kNever;
}

void Scheduler::Add(const std::shared_ptr<Job>& job, SteadyTime first_run) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  Entry& entry = entries_[job.get()];
  entry.job = job;
  Schedule(entry, first_run);
}

void Scheduler::Kick(const Job* job) { WakeAt(job, std::chrono::steady_clock::now()); }

void Scheduler::SoftKick(const Job* job) {
  SteadyTime when = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(job);
    if (it == entries_.end()) return;
    when = std::max(when, it->second.kick_floor);
  }
  WakeAt(job, when);
}

void Scheduler::SetKickFloor(const Job* job, SteadyTime floor) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(job);
  if (it != entries_.end()) it->second.kick_floor = floor;
}

void Scheduler::WakeAt(const Job* job, SteadyTime when) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(job);
  if (it == entries_.end() || it->second.removed) return;
  Entry& entry = it->second;
  if (entry.running) {
    if (when <= std::chrono::steady_clock::now()) entry.kicked_while_running = true;
    else if (when < entry.due) entry.due = when;  // applied when the run ends
    return;
  }
  if (when < entry.due) Schedule(entry, when);
}

void Scheduler::Remove(const Job* job) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(job);
  if (it == entries_.end()) return;
  it->second.removed = true;
  Unschedule(it->second);
  done_cv_.wait(lock, [&] { return !it->second.running; });
  entries_.erase(it);
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void Scheduler::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (stopping_) return;
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto [due, job_ptr] = *queue_.begin();
    auto now = std::chrono::steady_clock::now();
    if (due > now) {
      cv_.wait_until(lock, due);
      continue;
    }
    queue_.erase(queue_.begin());
    Entry& entry = entries_.at(job_ptr);
    entry.running = true;
    entry.kicked_while_running = false;
    entry.due = Job::kNever;
    std::shared_ptr<Job> job = entry.job;

    lock.unlock();
    SteadyTime next = job->Run();
    lock.lock();

    entry.running = false;
    if (entry.removed) {
      done_cv_.notify_all();
      continue;
    }
    if (entry.kicked_while_running) next = std::chrono::steady_clock::now();
    if (entry.due < next) next = entry.due;  // a WakeAt() during the run asked for earlier
    entry.due = Job::kNever;
    if (!stopping_) Schedule(entry, next);
  }
}

}  // namespace litestream
