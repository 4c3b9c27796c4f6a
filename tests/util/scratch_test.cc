#include "util/scratch.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace litestream {
namespace {

TEST(ScratchBuffer, ReturnedBufferIsReusedByTheNextOne) {
  const uint8_t* first = nullptr;
  {
    ScratchBuffer a(4096);
    ASSERT_NE(a.data(), nullptr);
    EXPECT_EQ(a.capacity(), kScratchBytes);  // every pooled buffer has the one size
    first = a.data();
    a.data()[kScratchBytes - 1] = 7;  // the whole capacity is usable
  }
  EXPECT_GE(PooledScratchBuffers(), 1u);
  ScratchBuffer b(kScratchBytes);
  EXPECT_EQ(b.data(), first);
}

TEST(ScratchBuffer, BiggerRequestsAreNotPooled) {
  const size_t before = PooledScratchBuffers();
  {
    ScratchBuffer big(kScratchBytes + 1);
    EXPECT_EQ(big.capacity(), kScratchBytes + 1);
  }
  EXPECT_EQ(PooledScratchBuffers(), before);
}

TEST(ScratchBuffer, MovedBufferReturnsOnce) {
  ScratchBuffer a(10);
  const size_t taken = PooledScratchBuffers();
  ScratchBuffer b(std::move(a));
  a = ScratchBuffer();  // releasing the moved-from one returns nothing
  EXPECT_EQ(PooledScratchBuffers(), taken);
  b = ScratchBuffer();
  EXPECT_EQ(PooledScratchBuffers(), taken + 1);
}

TEST(ScratchBuffer, PoolIsBoundedAndIdleBuffersAreFreed) {
  {
    std::vector<ScratchBuffer> many;
    for (int i = 0; i < 20; i++) many.emplace_back(100);
  }
  EXPECT_EQ(PooledScratchBuffers(), kMaxPooledScratchBuffers);
  EXPECT_GE(PooledScratchBuffers(), 1u);
  TrimScratchBuffers();  // all were just returned: none is idle yet
  EXPECT_GE(PooledScratchBuffers(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the 500 ms idle limit
  TrimScratchBuffers();
  EXPECT_EQ(PooledScratchBuffers(), 0u);
}

TEST(ScratchBuffer, ReleasePooledFreesEveryIdleBuffer) {
  ScratchBuffer kept(kScratchBytes);
  { ScratchBuffer returned(kScratchBytes); }
  EXPECT_GE(PooledScratchBuffers(), 1u);
  ReleasePooledScratchBuffers();
  EXPECT_EQ(PooledScratchBuffers(), 0u);
  kept.data()[0] = 1;  // a buffer in use is not the pool's to free
}

}  // namespace
}  // namespace litestream
