#include "restore/ltx_apply.h"

#include <cstring>
#include <memory>
#include <vector>

#include "ltx/database_image.h"
#include "ltx/format.h"
#include "ltx/merge.h"
#include "restore/describe.h"

namespace litestream {
namespace {

// Collects small writes (one page each) into large ones.
class BufferedFileWriter final : public Writer {
 public:
  explicit BufferedFileWriter(WritableFile& file, size_t capacity = 1 << 20) : file_(file) {
    buf_.reserve(capacity);
  }

  Status Write(const uint8_t* data, size_t n) override {
    if (buf_.size() + n > buf_.capacity()) LS_RETURN_IF_ERROR(Flush());
    if (n >= buf_.capacity()) return file_.Write(data, n);
    buf_.insert(buf_.end(), data, data + n);
    return Status::OK();
  }

  Status Flush() {
    if (buf_.empty()) return Status::OK();
    Status s = file_.Write(buf_.data(), buf_.size());
    buf_.clear();
    return s;
  }

 private:
  WritableFile& file_;
  std::vector<uint8_t> buf_;
};

std::string PlanName(const RestorePlan& plan) {
  return "restore plan " + FormatTXID(plan.min_txid()) + "-" + FormatTXID(plan.max_txid());
}

Status WriteImage(StorageClient& client, FileSystem& fs, const RestorePlan& plan, const std::string& tmp_path,
                  const LtxApplyOptions& o) {
  std::vector<std::unique_ptr<ResumableReader>> readers;
  std::vector<ltx::MergeInput> inputs;
  for (const LtxFileInfo& info : plan.files) {
    readers.push_back(std::make_unique<ResumableReader>(client, info, o.retry, o.sleep, o.stop));
    inputs.push_back({readers.back().get(), DescribeLtxFile(info)});
  }
  ltx::MergeIterator merge(std::move(inputs));
  LS_RETURN_IF_ERROR(merge.Open());
  if (merge.header().max_txid != plan.max_txid()) {
    return Status::Corruption(PlanName(plan) + ": merged files end at TXID " +
                              FormatTXID(merge.header().max_txid));
  }
  LS_ASSIGN_OR_RETURN(auto file, fs.Create(tmp_path, 0644));
  BufferedFileWriter out(*file);
  LS_RETURN_IF_ERROR(ltx::WriteDatabaseImage(merge, out, PlanName(plan)));
  LS_RETURN_IF_ERROR(out.Flush());
  LS_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

}  // namespace

Status ValidatePlanFileSizes(const RestorePlan& plan) {
  for (const LtxFileInfo& info : plan.files) {
    if (info.size < static_cast<int64_t>(ltx::kHeaderSize)) {
      return Status::Corruption("invalid ltx file: " + DescribeLtxFile(info) + " has size " +
                                std::to_string(info.size) + " bytes (minimum " +
                                std::to_string(ltx::kHeaderSize) + ")");
    }
  }
  return Status::OK();
}

Status ApplyLtxPlan(StorageClient& client, FileSystem& fs, const RestorePlan& plan,
                    const std::string& tmp_path, const LtxApplyOptions& options) {
  if (plan.files.empty()) return TxNotAvailableError("empty restore plan");
  LS_RETURN_IF_ERROR(ValidatePlanFileSizes(plan));
  Status s = WriteImage(client, fs, plan, tmp_path, options);
  if (!s.ok()) {
    Status removed = fs.Remove(tmp_path);
    if (!removed.ok() && !removed.IsNotFound()) {
      options.logger.Warn("cannot remove temporary restore file",
                          {{"path", tmp_path}, {"error", removed.ToString()}});
    }
  }
  return s;
}

}  // namespace litestream
