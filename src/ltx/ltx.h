// The LTX codec (docs/ltx.md): everything a component needs to write, read, randomly access and merge
// LTX files.
//
//   format.h          Header, PageHeader, Trailer, constants, LockPgno, PageEncoding
//   encoder.h         Encoder: header, pages, Close() -> Writer
//   decoder.h         Decoder: Reader -> header, pages, Close() verifies; VerifyFile()
//   database_image.h  WriteDatabaseImage / DecodeDatabaseTo: snapshot -> flat database file
//   page_index.h      ReadHeader / ReadPageIndex / ReadPage over a RandomAccessReader; DecodePageFrame
//   merge.h           MergeIterator (k-way, newest wins), Compact, EncodeAll
//   encoding_reader.h EncodingReader: a PageSource as an LTX byte stream (pull-based)
#pragma once

#include "ltx/database_image.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/encoding_reader.h"
#include "ltx/format.h"
#include "ltx/merge.h"
#include "ltx/page_index.h"
#include "ltx/page_source.h"
