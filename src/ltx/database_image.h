// Turning a snapshot page stream into a flat SQLite database file (restore, §5.4 step 4).
#pragma once

#include <string_view>

#include "litestream/io.h"
#include "litestream/status.h"
#include "ltx/page_source.h"

namespace litestream::ltx {

// Writes pages 1..Commit of a snapshot source to `out`, in order, with zeros for the lock page, then
// Close()s the source (which verifies checksums). `out` receives exactly Commit * PageSize bytes on success.
// Fails with Corruption if the source is not a snapshot (MinTXID != 1) or a pgno is missing or out of
// sequence ("<name>: nonsequential page numbers in snapshot: got 5, want 4"). On failure `out` holds a
// partial image: write to a temporary file and discard it unless OK. REQUIRES: the source is open.
Status WriteDatabaseImage(PageSource& source, Writer& out, std::string_view name);

// Decodes the LTX snapshot file read from `in` into a database image (WriteDatabaseImage over a Decoder).
Status DecodeDatabaseTo(Reader& in, Writer& out, std::string_view name);

}  // namespace litestream::ltx
