#include "litestream/status.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "litestream/storage.h"

namespace litestream {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return Status::InvalidArgument("odd: " + std::to_string(v));
  return v / 2;
}

Result<int> Quarter(int v) {
  LS_ASSIGN_OR_RETURN(int h, Half(v));
  return Half(h);
}

TEST(Status, ContextIsPrepended) {
  Status s = Status::Corruption("file checksum mismatch").WithContext("ltx/0/x.ltx").WithContext("restore");
  EXPECT_EQ(s.message(), "restore: ltx/0/x.ltx: file checksum mismatch");
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_TRUE(Status::OK().WithContext("ignored").ok());
}

TEST(Status, ErrnoMapsToCodes) {
  EXPECT_TRUE(Status::FromErrno(ENOSPC, "write x").IsDiskFull());
  EXPECT_TRUE(Status::FromErrno(ENOENT, "open x").IsNotFound());
  EXPECT_EQ(Status::FromErrno(EIO, "read x").code(), StatusCode::kIOError);
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
}

TEST(LtxNames, FormatAndParse) {
  EXPECT_EQ(FormatLtxFilename(1, 200), "0000000000000001-00000000000000c8.ltx");
  TXID lo = 0, hi = 0;
  ASSERT_TRUE(ParseLtxFilename("0000000000000001-00000000000000c8.ltx", &lo, &hi));
  EXPECT_EQ(lo, 1u);
  EXPECT_EQ(hi, 200u);
  EXPECT_FALSE(ParseLtxFilename("0000000000000001-00000000000000c8.ltx.tmp", &lo, &hi));
  EXPECT_FALSE(ParseLtxFilename("0000000000000001-00000000000000C8.ltx", &lo, &hi));
  EXPECT_FALSE(ParseLtxFilename("lock.json", &lo, &hi));
  EXPECT_FALSE(ParseTXID("5").ok());
  EXPECT_EQ(*ParseTXID("0000000000000005"), 5u);
}

}  // namespace
}  // namespace litestream

#include "util/time_format.h"

namespace litestream {
namespace {

TEST(RFC3339, ParsesUtcOffsetsAndFractions) {
  EXPECT_EQ(ParseRFC3339("2025-01-01T00:00:00Z")->time_since_epoch().count(), 1735689600000);
  EXPECT_EQ(ParseRFC3339("2025-01-01T00:00:00.123456Z")->time_since_epoch().count(), 1735689600123);
  EXPECT_EQ(ParseRFC3339("2025-01-01T02:00:00.5+02:00")->time_since_epoch().count(), 1735689600500);
  EXPECT_FALSE(ParseRFC3339("2025-01-01 00:00:00").ok());
  EXPECT_FALSE(ParseRFC3339("2025-01-01T00:00:00").ok());
  EXPECT_FALSE(ParseRFC3339("yesterday").ok());
}

}  // namespace
}  // namespace litestream
