// Synchronous signal handling for the long-running commands (replicate, restore -f): the signals are
// blocked in every thread and received with sigtimedwait, so no handler runs inside library code.
#pragma once

#include <chrono>

namespace litestream::cli {

// Blocks SIGINT, SIGTERM and SIGCHLD in the calling thread. Call before any thread is started so that
// every thread inherits the mask.
void BlockSignals();
// Waits up to `timeout` for a blocked signal; returns its number, or 0 on timeout.
int WaitForSignal(std::chrono::milliseconds timeout);

}  // namespace litestream::cli
