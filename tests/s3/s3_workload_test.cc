// The engine's randomized workload (tests/engine/replication_workload.h) replicated live to the real S3
// server: every TXID, the latest state and timestamps between files restore exactly, with compaction,
// snapshots and checkpoints running, all through S3.
#include "engine/replication_workload.h"
#include "s3/s3_server.h"
#include "support/paths.h"

namespace litestream::testing {
namespace {

using namespace std::chrono_literals;
using engine_test::WorkloadParam;

class S3WorkloadTest : public ::testing::TestWithParam<WorkloadParam> {};

TEST_P(S3WorkloadTest, EveryTxidAndTimestampRestoresARecordedState) {
  S3Server server = LoadS3Server();
  LITESTREAM_REQUIRE_S3(server);
  const std::string dir = MakeTempDir("s3-workload");
  auto client = std::make_shared<s3::S3StorageClient>(TestS3Options(server, UniqueS3Path("workload")));
  engine_test::RunReplicationWorkload(GetParam(), client, dir);
}

// One of the engine's configurations (emergency TRUNCATE checkpoints, block encoding, an application
// reader); every 4th TXID is restored.
INSTANTIATE_TEST_SUITE_P(S3, S3WorkloadTest,
                         ::testing::Values(WorkloadParam{4096, 0x5eed0102, 160, 40, 64 << 20,
                                                         ltx::PageEncoding::kBlock, 300ms, true, 4}),
                         engine_test::ParamName);

}  // namespace
}  // namespace litestream::testing
