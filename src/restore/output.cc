// The follow-mode -txid sidecar and the JSON / text summaries the CLI prints.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "litestream/restore.h"
#include "restore/describe.h"
#include "util/file_system.h"

namespace litestream {
namespace {

// RFC 3339 with second precision in UTC, as Go's time.RFC3339 prints a UTC time.
std::string FormatSeconds(SystemTime t) {
  std::string full = FormatTimestamp(t);  // 2025-01-01T00:00:00.000Z
  return full.substr(0, 19) + "Z";
}

struct PlanRow {
  nlohmann::json level;  // a number, or null for v0.3 files
  std::string name;
  std::string min_txid;
  std::string max_txid;
  int64_t size = 0;
  std::string timestamp;
};

std::vector<PlanRow> PlanRows(const RestoreResult& r) {
  std::vector<PlanRow> rows;
  if (r.format == RestoreSource::kV3) {
    if (r.v3_snapshot) {
      const V3SnapshotInfo& s = *r.v3_snapshot;
      rows.push_back({nullptr,
                      "generations/" + s.generation + "/snapshots/" + FormatSnapshotFilenameV3(s.index), "",
                      "", s.size, FormatSeconds(s.created_at)});
    }
    for (const V3WALSegmentInfo& s : r.v3_segments) {
      rows.push_back({nullptr,
                      "generations/" + s.generation + "/wal/" + FormatWALSegmentFilenameV3(s.index, s.offset),
                      "", "", s.size, FormatSeconds(s.created_at)});
    }
    return rows;
  }
  for (const LtxFileInfo& f : r.plan.files) {
    rows.push_back({f.level, FormatLtxFilename(f.min_txid, f.max_txid), FormatTXID(f.min_txid),
                    FormatTXID(f.max_txid), f.size, FormatSeconds(f.created_at)});
  }
  return rows;
}

std::string TxidText(TXID txid) { return txid == 0 ? std::string() : FormatTXID(txid); }

}  // namespace

std::string TXIDSidecarPath(const std::string& output_path) { return output_path + "-txid"; }

Status WriteTXIDSidecar(FileSystem& fs, const std::string& output_path, TXID txid) {
  std::string text = FormatTXID(txid) + "\n";
  Status s = WriteFileAtomic(fs, TXIDSidecarPath(output_path), reinterpret_cast<const uint8_t*>(text.data()),
                             text.size());
  return s.WithContext("write txid file " + TXIDSidecarPath(output_path));
}

Result<TXID> ReadTXIDSidecar(FileSystem& fs, const std::string& output_path) {
  const std::string path = TXIDSidecarPath(output_path);
  LS_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileToVector(fs, path, 64));
  std::string text(bytes.begin(), bytes.end());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  auto txid = ParseTXID(text);
  if (!txid.ok()) return Status::Corruption(path + ": " + txid.status().message());
  if (*txid == 0) return Status::Corruption(path + ": TXID 0 is not a restored position");
  return txid;
}

std::string RestoreResultJson(const RestoreResult& r) {
  nlohmann::ordered_json j;
  j["db_path"] = r.db_path;
  j["replica"] = r.replica;
  j["txid"] = TxidText(r.txid);
  j["duration_ms"] = static_cast<int64_t>(r.duration.count());
  j["integrity_check"] = std::string(IntegrityCheckName(r.integrity_check));
  return j.dump(2);
}

std::string RestorePlanJson(const RestoreResult& r) {
  nlohmann::ordered_json j;
  j["source"] = r.source;
  j["target_path"] = r.db_path;
  j["replica"] = r.replica;
  j["min_txid"] = TxidText(r.plan.min_txid());
  j["max_txid"] = TxidText(r.plan.max_txid());
  if (r.format == RestoreSource::kV3) j["format"] = "v0.3";
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const PlanRow& row : PlanRows(r)) {
    nlohmann::ordered_json f;
    f["level"] = row.level;
    f["name"] = row.name;
    f["min_txid"] = row.min_txid;
    f["max_txid"] = row.max_txid;
    f["size"] = row.size;
    f["timestamp"] = row.timestamp;
    files.push_back(std::move(f));
  }
  j["files"] = std::move(files);
  return j.dump(2);
}

std::string RestorePlanText(const RestoreResult& r) {
  std::string out = "Restore plan:\n";
  out += "  source: " + r.source + "\n";
  out += "  target: " + r.db_path + "\n";
  out += "  replica: " + r.replica + "\n";
  if (r.format == RestoreSource::kV3) {
    out += "  format: v0.3\n";
  } else {
    out += "  txid range: " + TxidText(r.plan.min_txid()) + " - " + TxidText(r.plan.max_txid()) + "\n";
  }
  out += "\nFiles to fetch:\n";
  // A tab-aligned table like Go's tabwriter (padding 2; the last column is not padded).
  std::vector<std::vector<std::string>> table = {
      {"level", "file", "min_txid", "max_txid", "size", "timestamp"}};
  for (const PlanRow& row : PlanRows(r)) {
    table.push_back({row.level.is_null() ? "-" : std::to_string(row.level.get<int>()), row.name, row.min_txid,
                     row.max_txid, std::to_string(row.size), row.timestamp});
  }
  std::vector<size_t> width(table[0].size(), 0);
  for (const auto& line : table) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  for (const auto& line : table) {
    for (size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) out += std::string(width[i] + 2 - line[i].size(), ' ');
    }
    out += "\n";
  }
  return out;
}

}  // namespace litestream
