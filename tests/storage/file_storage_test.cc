#include "storage/file/file_storage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "litestream/config.h"
#include "storage/conformance.h"
#include "storage/registry.h"
#include "support/paths.h"
#include "util/fault_file_system.h"

namespace litestream::testing {
namespace {

constexpr int64_t kTs = 1735689600123;

StorageBackend FileBackend() {
  StorageBackend b;
  b.name = "file";
  b.make = [] { return std::make_unique<FileStorageClient>(MakeTempDir("file-conformance") + "/replica"); };
  b.put_raw = [](StorageClient& client, int level, const std::string& name,
                 const std::vector<uint8_t>& data) {
    auto& fc = static_cast<FileStorageClient&>(client);
    ASSERT_TRUE(FileSystem::Default()->MkdirAll(fc.LevelDir(level), 0700).ok());
    std::ofstream(fc.LevelDir(level) + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  };
  b.list_reports_header_timestamp = true;
  return b;
}

INSTANTIATE_TEST_SUITE_P(File, StorageConformance, ::testing::Values(FileBackend()),
                         [](const ::testing::TestParamInfo<StorageBackend>& p) { return p.param.name; });

Result<LtxFileInfo> WriteLtx(StorageClient& c, int level, TXID lo, TXID hi, int64_t ts = kTs) {
  BufferReader r(MakeLtxBytes(lo, hi, ts, 256));
  return c.Write(level, lo, hi, r);
}

std::vector<std::string> DirNames(const std::string& dir) {
  Result<std::vector<std::string>> names = FileSystem::Default()->ListDir(dir);
  return names.ok() ? *names : std::vector<std::string>{};
}

TEST(FileStorage, LayoutIsLtxLevelDecimalAndHexNames) {
  std::string root = MakeTempDir("file-layout") + "/r";
  FileStorageClient c(root);
  ASSERT_TRUE(WriteLtx(c, 9, 1, 0x2a).ok());
  ASSERT_TRUE(WriteLtx(c, 0, 0x2b, 0x2b).ok());
  EXPECT_EQ(DirNames(root + "/ltx/9"), std::vector<std::string>{"0000000000000001-000000000000002a.ltx"});
  EXPECT_EQ(DirNames(root + "/ltx/0"), std::vector<std::string>{"000000000000002b-000000000000002b.ltx"});
  EXPECT_EQ(c.LtxPath(3, 1, 2), root + "/ltx/3/0000000000000001-0000000000000002.ltx");
  EXPECT_EQ(c.Type(), "file");
  EXPECT_EQ(c.Describe(), "file://" + root);
}

TEST(FileStorage, MtimeAndAtimeAreTheHeaderTimestamp) {
  std::string root = MakeTempDir("file-mtime");
  FileStorageClient c(root);
  const int64_t ts = 1262304000456;  // 2010-01-01T00:00:00.456Z
  ASSERT_TRUE(WriteLtx(c, 0, 5, 5, ts).ok());
  struct stat st {};
  ASSERT_EQ(::stat(c.LtxPath(0, 5, 5).c_str(), &st), 0);
  EXPECT_EQ(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000, ts);
  EXPECT_EQ(static_cast<int64_t>(st.st_atim.tv_sec) * 1000 + st.st_atim.tv_nsec / 1000000, ts);
}

TEST(FileStorage, DefaultModesAre0700DirsAnd0600Files) {
  mode_t old = ::umask(0);
  std::string root = MakeTempDir("file-modes") + "/r";
  FileStorageClient c(root);
  ASSERT_TRUE(WriteLtx(c, 0, 1, 1).ok());
  FileStorageOptions opts;
  opts.dir_mode = 0750;
  opts.file_mode = 0640;
  std::string root2 = MakeTempDir("file-modes2") + "/r";
  FileStorageClient c2(root2, opts);
  ASSERT_TRUE(WriteLtx(c2, 0, 1, 1).ok());
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat((root + "/ltx/0").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(c.LtxPath(0, 1, 1).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((root2 + "/ltx/0").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  ASSERT_EQ(::stat(c2.LtxPath(0, 1, 1).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(FileStorage, OwnerOptionChownsWhatItCreates) {
  std::string root = MakeTempDir("file-owner") + "/r";
  FileStorageOptions opts;
  opts.uid = ::getuid();
  opts.gid = ::getgid();
  FileStorageClient c(root, opts);
  ASSERT_TRUE(WriteLtx(c, 1, 1, 1).ok());
  struct stat st {};
  ASSERT_EQ(::stat(c.LtxPath(1, 1, 1).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::getuid());
  EXPECT_EQ(st.st_gid, ::getgid());
}

// Each injected failure leaves no staging file and no final file behind, and reports the failure.
TEST(FileStorage, StagingFileIsRemovedOnEveryFailure) {
  struct Case {
    FaultOp op;
    int nth;
    Status status;
    StatusCode want;
  };
  const Case cases[] = {
      {FaultOp::kCreate, 1, Status::DiskFull("injected"), StatusCode::kDiskFull},
      {FaultOp::kWrite, 1, Status::DiskFull("injected"), StatusCode::kDiskFull},
      {FaultOp::kWrite, 2, Status::DiskFull("injected"), StatusCode::kDiskFull},
      {FaultOp::kSync, 1, Status::IOError("injected"), StatusCode::kIOError},
      {FaultOp::kClose, 1, Status::IOError("injected"), StatusCode::kIOError},
      {FaultOp::kRename, 1, Status::IOError("injected"), StatusCode::kIOError},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(static_cast<int>(tc.op) * 10 + tc.nth);
    std::string root = MakeTempDir("file-fault") + "/r";
    FaultFileSystem fs(FileSystem::Default());
    FileStorageOptions opts;
    opts.fs = &fs;
    FileStorageClient c(root, opts);
    fs.FailNth(tc.op, tc.nth, tc.status, ".ltx.tmp");
    // A payload big enough for several writes (the copy writes in chunks of kScratchBytes).
    GeneratedLtxReader src(1, 1, kTs, 3 << 20, 100000);
    Result<LtxFileInfo> r = c.Write(0, 1, 1, src);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), tc.want) << r.status().ToString();
    EXPECT_NE(r.status().message().find("0000000000000001-0000000000000001.ltx"), std::string::npos)
        << r.status().message();
    EXPECT_TRUE(DirNames(root + "/ltx/0").empty());
    // The same write succeeds once the fault is gone.
    fs.Clear();
    ASSERT_TRUE(WriteLtx(c, 0, 1, 1).ok());
    EXPECT_EQ(DirNames(root + "/ltx/0"), std::vector<std::string>{"0000000000000001-0000000000000001.ltx"});
  }
}

TEST(FileStorage, DirectoryIsFsyncedAfterTheRename) {
  std::string root = MakeTempDir("file-dirsync") + "/r";
  FaultFileSystem fs(FileSystem::Default());
  FileStorageOptions opts;
  opts.fs = &fs;
  FileStorageClient c(root, opts);
  ASSERT_TRUE(WriteLtx(c, 0, 1, 1).ok());
  EXPECT_EQ(fs.Count(FaultOp::kSync), 2);  // the staging file, then the directory
  EXPECT_EQ(fs.Count(FaultOp::kRename), 1);

  // A failing directory fsync (the 2nd sync) is reported; the rename has already happened.
  fs.FailNth(FaultOp::kSync, 2, Status::IOError("dir fsync failed"));
  Result<LtxFileInfo> r = WriteLtx(c, 0, 2, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dir fsync failed"), std::string::npos);
  EXPECT_EQ(DirNames(root + "/ltx/0"), (std::vector<std::string>{"0000000000000001-0000000000000001.ltx",
                                                                 "0000000000000002-0000000000000002.ltx"}));
}

// A replica's file bypasses the page cache in whole chunks (CreateWriteOnce); what arrives in odd pieces of
// many sizes is the file, byte for byte.
TEST(FileStorage, BigStreamIsStoredByteForByte) {
  std::string root = MakeTempDir("file-big") + "/r";
  FileStorageClient c(root);
  const uint64_t size = 3 * (uint64_t{1} << 20) + 4321;
  GeneratedLtxReader src(1, 7, kTs, size, 65537);
  auto stored = c.Write(0, 1, 7, src);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(static_cast<uint64_t>(stored->size), size);
  auto r = c.Open(0, 1, 7, 0, 0);
  ASSERT_TRUE(r.ok());
  auto got = (*r)->ReadAll(8 << 20);
  ASSERT_TRUE(got.ok());
  GeneratedLtxReader again(1, 7, kTs, size, 1 << 20);
  auto want = again.ReadAll(8 << 20);
  ASSERT_TRUE(want.ok());
  EXPECT_TRUE(*got == *want);
}

TEST(FileStorage, MkdirFailureIsReported) {
  std::string root = MakeTempDir("file-mkdir") + "/r";
  FaultFileSystem fs(FileSystem::Default());
  FileStorageOptions opts;
  opts.fs = &fs;
  FileStorageClient c(root, opts);
  fs.FailNth(FaultOp::kMkdir, 1, Status::DiskFull("no space"));
  Result<LtxFileInfo> r = WriteLtx(c, 0, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsDiskFull());
}

TEST(FileStorage, ListSkipsStagingFilesAndDirectories) {
  std::string root = MakeTempDir("file-list") + "/r";
  FileStorageClient c(root);
  ASSERT_TRUE(WriteLtx(c, 0, 1, 1).ok());
  ASSERT_TRUE(
      FileSystem::Default()->MkdirAll(root + "/ltx/0/0000000000000002-0000000000000002.ltx", 0700).ok());
  std::ofstream(root + "/ltx/0/0000000000000003-0000000000000003.ltx.tmp") << "partial";
  Result<std::vector<LtxFileInfo>> files = c.List(0, 0);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].min_txid, 1u);
}

TEST(FileStorage, ListErrorOtherThanMissingIsReported) {
  std::string root = MakeTempDir("file-listerr") + "/r";
  FaultFileSystem fs(FileSystem::Default());
  FileStorageOptions opts;
  opts.fs = &fs;
  FileStorageClient c(root, opts);
  fs.FailNth(FaultOp::kList, 1, Status::IOError("EIO"));
  Result<std::vector<LtxFileInfo>> files = c.List(0, 0);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kIOError);
}

TEST(FileStorage, LevelOutOfRangeIsInvalid) {
  FileStorageClient c(MakeTempDir("file-level"));
  EXPECT_EQ(c.List(10, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.List(-1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteLtx(c, 10, 1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.Open(10, 1, 1, 0, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST(FileStorage, RemoveAllOfAMissingRootIsOk) {
  FileStorageClient c(MakeTempDir("file-rmall") + "/never-created");
  EXPECT_TRUE(c.RemoveAll().ok());
}

TEST(StorageRegistry, FileTypeBuildsAFileClient) {
  ReplicaConfig rc;
  rc.type = "file";
  rc.path = MakeTempDir("registry");
  Result<std::unique_ptr<StorageClient>> c = NewStorageClient(rc);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->Type(), "file");
  EXPECT_EQ((*c)->Describe(), "file://" + rc.path);
  ASSERT_TRUE(WriteLtx(**c, 0, 1, 1).ok());
}

TEST(StorageRegistry, FromParsedUrl) {
  std::string dir = MakeTempDir("registry-url");
  Result<ReplicaConfig> rc = ParseReplicaURL("file://" + dir + "/sub");
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  Result<std::unique_ptr<StorageClient>> c = NewStorageClient(*rc);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->Describe(), "file://" + dir + "/sub");
}

TEST(StorageRegistry, UnknownTypeIsNotSupportedAndNamesTheType) {
  ReplicaConfig rc;
  rc.type = "carrier-pigeon";
  Result<std::unique_ptr<StorageClient>> c = NewStorageClient(rc);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotSupported);
  EXPECT_NE(c.status().message().find("carrier-pigeon"), std::string::npos);
}

TEST(StorageRegistry, FactoriesCanBeAddedWithoutTouchingTheRegistry) {
  RegisterStorageFactory("test-fake", [](const ReplicaConfig& c) -> Result<std::unique_ptr<StorageClient>> {
    return std::unique_ptr<StorageClient>(std::make_unique<FileStorageClient>(c.path + "/fake"));
  });
  ReplicaConfig rc;
  rc.type = "test-fake";
  rc.path = MakeTempDir("registry-fake");
  Result<std::unique_ptr<StorageClient>> c = NewStorageClient(rc);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->Describe(), "file://" + rc.path + "/fake");
  std::vector<std::string> types = RegisteredStorageTypes();
  EXPECT_NE(std::find(types.begin(), types.end(), "file"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "test-fake"), types.end());
}

}  // namespace
}  // namespace litestream::testing
