#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "litestream/config.h"

namespace litestream {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string Expand(std::string_view text, std::map<std::string, std::string> vars = {}) {
  return ExpandConfigEnv(text, FakeEnv(std::move(vars)));
}

TEST(ExpandEnv, DollarNameAndBraces) {
  std::map<std::string, std::string> env = {{"BUCKET", "bkt"}, {"REGION", "eu-west-1"}, {"A_1", "x"}};
  EXPECT_EQ(Expand("bucket: $BUCKET", env), "bucket: bkt");
  EXPECT_EQ(Expand("bucket: ${BUCKET}", env), "bucket: bkt");
  EXPECT_EQ(Expand("$BUCKET-$REGION", env), "bkt-eu-west-1");
  EXPECT_EQ(Expand("${BUCKET}suffix", env), "bktsuffix");
  EXPECT_EQ(Expand("$BUCKETsuffix", env), "");  // the name runs on: BUCKETsuffix is unset
  EXPECT_EQ(Expand("$A_1.", env), "x.");
}

TEST(ExpandEnv, UnsetIsEmptyAndThereIsNoDefaultSyntax) {
  EXPECT_EQ(Expand("a: $NOPE."), "a: .");
  EXPECT_EQ(Expand("a: ${NOPE}."), "a: .");
  // Go's os.Expand has no ${VAR:-default}: the whole "NOPE:-x" is the name.
  EXPECT_EQ(Expand("a: ${NOPE:-x}"), "a: ");
}

TEST(ExpandEnv, PidIsTheProcessId) {
  EXPECT_EQ(Expand("/tmp/$PID/db"), "/tmp/" + std::to_string(::getpid()) + "/db");
  EXPECT_EQ(Expand("${PID}"), std::to_string(::getpid()));
  EXPECT_EQ(Expand("$PID", {{"PID", "ignored"}}), std::to_string(::getpid()));
}

TEST(ExpandEnv, OsExpandCornerCases) {
  EXPECT_EQ(Expand("cost: $"), "cost: $");               // trailing "$" stays
  EXPECT_EQ(Expand("a $ b"), "a $ b");                   // "$" + non-name stays
  EXPECT_EQ(Expand("a ${} b"), "a  b");                  // "${}" is eaten
  EXPECT_EQ(Expand("a ${OPEN b"), "a OPEN b");           // "${" without "}" eats only "${"
  EXPECT_EQ(Expand("$$", {{"$", "dollar"}}), "dollar");  // special one-character names
  EXPECT_EQ(Expand("p@$1w"), "p@w");                     // a "$" in a password is mangled, as upstream
  EXPECT_EQ(Expand("no dollars"), "no dollars");
}

TEST(ExpandEnv, CommentsAreExpandedToo) {
  EXPECT_EQ(Expand("# uses $HOME\nkey: 1", {{"HOME", "/root"}}), "# uses /root\nkey: 1");
}

TEST(ExpandEnv, GenericMapping) {
  EXPECT_EQ(ExpandEnv("$a-${b}", [](std::string_view n) { return "<" + std::string(n) + ">"; }), "<a>-<b>");
}

TEST(CheckNoEnvReferences, RejectsReferencesOutsideComments) {
  EXPECT_TRUE(CheckNoEnvReferences("dbs:\n  - path: /data/app.db\n# $COMMENT is fine\n").ok());
  EXPECT_TRUE(CheckNoEnvReferences("password: p$ ss\ncost: 5$\n").ok());
  Status s = CheckNoEnvReferences("a: 1\nsecret-access-key: $AWS_SECRET\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("line 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("$AWS_SECRET"), std::string::npos) << s.message();
  EXPECT_FALSE(CheckNoEnvReferences("bucket: ${BUCKET}\n").ok());
  EXPECT_FALSE(CheckNoEnvReferences("  path: /x # $TRAILING\n").ok());  // not a comment line
}

}  // namespace
}  // namespace litestream
