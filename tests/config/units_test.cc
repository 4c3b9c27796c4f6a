#include <gtest/gtest.h>

#include "litestream/config.h"

namespace litestream {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, GoSyntax) {
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("0s"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("1s"), seconds(1));
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*ParseDuration("1h30m"), minutes(90));
  EXPECT_EQ(*ParseDuration("2h45m30.5s"), hours(2) + minutes(45) + milliseconds(30500));
  EXPECT_EQ(*ParseDuration("24h"), hours(24));
  EXPECT_EQ(*ParseDuration(".5m"), seconds(30));
  EXPECT_EQ(*ParseDuration("1.m"), minutes(1));
  EXPECT_EQ(*ParseDuration("-1.5s"), milliseconds(-1500));
  EXPECT_EQ(*ParseDuration("+5m"), minutes(5));
  EXPECT_EQ(*ParseDuration("1500us"), milliseconds(1));
  EXPECT_EQ(*ParseDuration("1500\xC2\xB5s"), milliseconds(1));
  EXPECT_EQ(*ParseDuration("2000000ns"), milliseconds(2));
  EXPECT_EQ(*ParseDuration("1m1ms"), milliseconds(60001));
}

TEST(ParseDuration, RejectsInvalidInput) {
  for (const char* bad :
       {"", "s", "1", "10", "1d", "1 s", "1.5", "-", ".", ".s", "1h-5m", "abc", "1sec", "9999999999h"}) {
    Result<Duration> d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_NE(ParseDuration("10").status().message().find("missing unit"), std::string::npos);
  EXPECT_NE(ParseDuration("1d").status().message().find("unknown unit \"d\""), std::string::npos);
}

TEST(FormatDuration, GoStyle) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(seconds(30)), "30s");
  EXPECT_EQ(FormatDuration(minutes(5)), "5m0s");
  EXPECT_EQ(FormatDuration(minutes(90)), "1h30m0s");
  EXPECT_EQ(FormatDuration(hours(24)), "24h0m0s");
  EXPECT_EQ(FormatDuration(milliseconds(61001)), "1m1.001s");
  EXPECT_EQ(FormatDuration(milliseconds(-1500)), "-1.5s");
}

TEST(ParseByteSize, SiAndIec) {
  EXPECT_EQ(*ParseByteSize("5242880"), 5242880);
  EXPECT_EQ(*ParseByteSize("5MB"), 5000000);
  EXPECT_EQ(*ParseByteSize("5MiB"), 5242880);
  EXPECT_EQ(*ParseByteSize("5 mib"), 5242880);
  EXPECT_EQ(*ParseByteSize("5M"), 5000000);
  EXPECT_EQ(*ParseByteSize("5Mi"), 5242880);
  EXPECT_EQ(*ParseByteSize("1.5GB"), 1500000000);
  EXPECT_EQ(*ParseByteSize("10k"), 10000);
  EXPECT_EQ(*ParseByteSize("10KiB"), 10240);
  EXPECT_EQ(*ParseByteSize("100B"), 100);
  EXPECT_EQ(*ParseByteSize("1,024"), 1024);
  EXPECT_EQ(*ParseByteSize(" 64MiB "), 64LL << 20);
  EXPECT_EQ(*ParseByteSize("1TiB"), 1LL << 40);
}

TEST(ParseByteSize, RejectsInvalidInput) {
  for (const char* bad : {"", "MB", "-5MB", "5XB", "five", "5 M B", "99999999EB"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace litestream
