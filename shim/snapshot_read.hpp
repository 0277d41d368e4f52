#pragma once
// The console's side of the week replay: opens every spool file of a base (HPKE with the
// console's private key, trusting the base's server key), ingests them all into one
// IngestStore, and checks that no user key of the oracle appears in any plaintext.

#include <cstdint>
#include <span>
#include <string>

#include "compare.hpp"
#include "crypto/hpke.hpp"
#include "snapshot/ingest.hpp"
#include "snapshot_setup.hpp"
#include "time/timezone.hpp"

namespace sonde::shim {

struct SpoolRead {
    uint64_t files = 0, bytes = 0, opened = 0;
    uint64_t first_sequence = 0, last_sequence = 0;
    uint64_t plaintext_bytes = 0;  // serialized snapshots, summed
    uint64_t keys_sampled = 0;
    uint64_t gauges_read = 0;  // gauge figures in all files (each checked against its file)
    uint32_t first_boots = 0, last_boots = 0;  // segment_boots of the first and last snapshot
    uint64_t generations = 0;                  // distinct segment generations
};

// Every file that does not open, and every sampled key found in a plaintext, is a mismatch.
// So is, per file: a gauge set later than the file's creation; a file name whose first hour
// is not the start of a local hour of `tz`, or not the first hour the file carries; a file
// made at the same time as the previous one that carries nothing the previous one did not.
SpoolRead read_spool(CheckLog &log, const std::string &uai, const SnapshotChannel &channel,
                     const crypto::KeyPair &console, std::span<const std::string> user_keys,
                     const time::TimeZone &tz, snapshot::IngestStore &store);

}  // namespace sonde::shim
