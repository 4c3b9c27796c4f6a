#include "util/read_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

namespace litestream {
namespace {

struct Piece {
  int index = 0;
};

// A producer of `count` buffers, the i-th filled with byte i; it fails at `fail_at` if that is < count.
ReadAhead<Piece>::Producer Counting(int count, std::atomic<int>* produced, int fail_at = -1) {
  return [=](Piece* piece, uint8_t* buf) -> Result<bool> {
    const int i = produced->load();
    if (i == fail_at) return Status::IOError("read " + std::to_string(i) + " failed");
    if (i == count) return false;
    piece->index = i;
    std::memset(buf, i, 64);
    produced->store(i + 1);
    return true;
  };
}

TEST(ReadAheadTest, HandsOverEveryBufferInOrder) {
  std::atomic<int> produced{0};
  ReadAhead<Piece> ahead(64, 3, Counting(50, &produced));
  Piece piece;
  const uint8_t* data = nullptr;
  for (int i = 0; i < 50; i++) {
    auto more = ahead.Next(&piece, &data);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    ASSERT_TRUE(*more);
    EXPECT_EQ(piece.index, i);
    EXPECT_EQ(data[0], i);
    EXPECT_EQ(data[63], i);
  }
  auto end = ahead.Next(&piece, &data);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
  end = ahead.Next(&piece, &data);  // the end stays the end
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
}

TEST(ReadAheadTest, ProducesAtMostDepthMinusOneAheadOfTheBufferHeld) {
  std::atomic<int> produced{0};
  ReadAhead<Piece> ahead(64, 3, Counting(100, &produced));
  Piece piece;
  const uint8_t* data = nullptr;
  ASSERT_TRUE(*ahead.Next(&piece, &data));
  // Holding buffer 0: the producer may fill buffers 1 and 2 and must then wait.
  for (int i = 0; i < 5000 && produced.load() < 3; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(produced.load(), 3);
  EXPECT_EQ(data[0], 0);  // the held buffer was not overwritten
  ASSERT_TRUE(*ahead.Next(&piece, &data));
  EXPECT_EQ(piece.index, 1);
}

TEST(ReadAheadTest, ReturnsTheProducersErrorAfterTheBuffersBeforeIt) {
  std::atomic<int> produced{0};
  ReadAhead<Piece> ahead(64, 2, Counting(100, &produced, /*fail_at=*/4));
  Piece piece;
  const uint8_t* data = nullptr;
  for (int i = 0; i < 4; i++) {
    auto more = ahead.Next(&piece, &data);
    ASSERT_TRUE(more.ok());
    EXPECT_EQ(piece.index, i);
  }
  auto failed = ahead.Next(&piece, &data);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("read 4 failed"), std::string::npos);
  EXPECT_FALSE(ahead.Next(&piece, &data).ok());
}

TEST(ReadAheadTest, StopsItsHelperWhenDestroyedEarly) {
  std::atomic<int> produced{0};
  {
    ReadAhead<Piece> ahead(64, 4, Counting(1000000, &produced));
    Piece piece;
    const uint8_t* data = nullptr;
    ASSERT_TRUE(*ahead.Next(&piece, &data));
  }
  EXPECT_LE(produced.load(), 4);
}

}  // namespace
}  // namespace litestream
