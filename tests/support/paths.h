// Locations the tests need: the checked-in test vectors and the built binaries.
#pragma once

#include <string>

namespace litestream::testing {

// tests/testdata/<relative>
std::string TestDataPath(const std::string& relative);
// <repository root>/<relative> (e.g. ".test-tools/..." installed by scripts/install-reference-tools.sh)
std::string SourcePath(const std::string& relative);
// <build>/bin/<name>: litestream, sqlite3, ...
std::string BinPath(const std::string& name);
// A fresh empty directory under `parent` (default $TMPDIR), removed when the process exits normally.
std::string MakeTempDir(const std::string& prefix, const std::string& parent = "");

}  // namespace litestream::testing
