// Randomized workload, replicated live by an in-process Store (background compaction, snapshots and
// checkpoints on, short intervals), then checked against the application's own record of every state it
// committed:
//  - every TXID 1..max on the replica restores (full integrity check) to a recorded state (seq n and the
//    digest of the whole logical content match), and n never decreases with the TXID;
//  - the latest restore is exactly the final state;
//  - a timestamp restore returns exactly the state of the newest L0 file created strictly before the
//    timestamp (computed here from the listing), equal to a TXID restore of that TXID.
//
// The seed is printed; LITESTREAM_ENGINE_SEED=<n> replays one (LITESTREAM_KEEP_TEST_DIRS=1 keeps the
// replica, LITESTREAM_ENGINE_DEBUG=1 prints the engine's debug log on failure).
#include <gtest/gtest.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <ostream>
#include <random>
#include <thread>

#include "engine/replication_workload.h"
#include "storage/file/file_storage.h"
#include "support/paths.h"

namespace litestream {
namespace {

using namespace std::chrono_literals;
using engine_test::WorkloadParam;

class ReplicationWorkloadTest : public ::testing::TestWithParam<WorkloadParam> {};

TEST_P(ReplicationWorkloadTest, EveryTxidAndTimestampRestoresARecordedState) {
  const std::string dir = testing::MakeTempDir("engine-workload");
  engine_test::RunReplicationWorkload(GetParam(), std::make_shared<FileStorageClient>(dir + "/replica"), dir);
}

// Fixed seeds. Each page size also varies the options that change the engine's paths: emergency TRUNCATE
// checkpoints (a truncate threshold below the PASSIVE one, and an application reader that keeps PASSIVE
// from restarting the WAL), chunked syncs (max_sync_wal_bytes), both LTX page encodings and the time-based
// checkpoint.
INSTANTIATE_TEST_SUITE_P(Engine, ReplicationWorkloadTest,
                         ::testing::Values(WorkloadParam{1024, 0x5eed0001, 220, 0, 256 << 10,
                                                         ltx::PageEncoding::kFrame, 60'000ms, false},
                                           WorkloadParam{4096, 0x5eed0002, 220, 40, 64 << 20,
                                                         ltx::PageEncoding::kBlock, 300ms, true},
                                           WorkloadParam{65536, 0x5eed0003, 180, 20, 64 << 20,
                                                         ltx::PageEncoding::kFrame, 60'000ms, true}),
                         engine_test::ParamName);

}  // namespace
}  // namespace litestream
