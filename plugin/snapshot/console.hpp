#pragma once
// The console side of the envelope: open a .sonde file into the generated protobuf class and
// check it is a snapshot of this build's catalogue. Executables only: it links the protobuf
// runtime, which cannot go into libsonde.so (see model.hpp).

#include <span>
#include <string>

#include "snapshot/envelope.hpp"
#include "sonde_snapshot.pb.h"

namespace sonde::snapshot {

// open_payload, then: the bytes parse as a v1::Snapshot (BadPayload), its schema_hash is the
// catalogue's SONDE_SCHEMA_HASH (SchemaMismatch, naming both hashes), and its base id,
// sequence and creation time are the header's (HeaderMismatch). On failure `out` is cleared.
OpenError open_snapshot(std::span<const uint8_t> file, const OpenParams &params, v1::Snapshot &out,
                        Header &header, std::string *error);

// Parses serialized Snapshot bytes with the same checks, minus the header comparison. Before
// parsing, a scan of the wire format counts the figures (values, gauges, distinct,
// distributions, suppressed, level labels): more than `max_figures` is refused (TooLarge), so
// that nothing is built for a snapshot no plugin can produce (limits.hpp).
OpenError parse_snapshot(std::span<const uint8_t> bytes, v1::Snapshot &out, std::string *error,
                         size_t max_figures = kDefaultMaxFigures);

// Reads a .sonde file within bounds, for open_snapshot: a regular file larger than
// max_sealed_size(max_uncompressed) is refused (TooLarge) before a byte is read; anything else
// (a pipe, a device) is read up to that bound and refused beyond it. Opening never waits for a
// FIFO's writer (an empty one reads as empty: Truncated later). A file that cannot be opened or
// read, or a directory, is Internal; `error` says why.
OpenError read_sealed_file(const std::string &path, size_t max_uncompressed, Bytes &out,
                           std::string *error);

}  // namespace sonde::snapshot
