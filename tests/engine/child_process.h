// A child process for the process-level tests: spawned with posix_spawn, output appended to a log file,
// and killed (SIGKILL) and reaped by the destructor, so that no child outlives a failed test.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "litestream/status.h"

extern char** environ;

namespace litestream::engine_test {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0) (void)KillAndWait(std::chrono::seconds(10));
  }

  // Starts `argv[0]` with `argv`, stdout and stderr appended to `log_path`.
  Status Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    if (pid_ > 0) return Status::FailedPrecondition("child already running");
    std::vector<std::string> args = argv;
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, cargs[0], &fa, &attr, cargs.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return Status::FromErrno(rc, "posix_spawn " + args[0]);
    pid_ = pid;
    return Status::OK();
  }

  // True if the child has already exited (and reaps it); `status` gets the wait status.
  bool Exited(int* status) {
    if (pid_ <= 0) return true;
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (status) *status = st;
      return true;
    }
    return false;
  }

  // SIGKILL, then waits (bounded) for the child to be reaped. Returns the wait status.
  Result<int> KillAndWait(std::chrono::milliseconds limit) {
    if (pid_ <= 0) return Status::FailedPrecondition("no child");
    kill(pid_, SIGKILL);
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return st;
      }
      if (r < 0) {
        int err = errno;
        pid_ = -1;
        return Status::FromErrno(err, "waitpid");
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::Timeout("child " + std::to_string(pid_) + " not reaped after SIGKILL");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace litestream::engine_test
