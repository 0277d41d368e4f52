#pragma once
// The spool: sealed snapshots waiting to be uploaded, one file each, written durably
// (temporary file, fsync, rename, fsync of the directory) before they count as shipped, and
// the per-base state (next sequence number, first hour not yet spooled) that survives restarts.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sonde::ship {

struct SpoolState {
    uint64_t sequence = 0;        // last sequence number used (never reused, even after a crash)
    int64_t next_hour_start = 0;  // hours that opened at or after this are not spooled yet
    uint64_t generation = 0;      // segment generation those hours belong to
};

// The receipt of a sealed file (snapshot::Receipt: RFC 9180 export of its HPKE context).
using Receipt = std::array<uint8_t, 32>;

struct SpoolEntry {
    uint64_t sequence = 0;
    int64_t first_hour = 0;  // first hour the snapshot carries
    int64_t created = 0;
    std::string path;
};

class Spool {
  public:
    Spool(std::string dir, std::string base_id);

    bool load_state(SpoolState &out, std::string *error) const;  // missing file: fresh state
    bool save_state(const SpoolState &state, std::string *error) const;
    // Read-modify-write of the state under an exclusive flock of the spool directory, so that
    // two processes can never hand out one sequence number, even if both believe they ship
    // (the election's lock file deleted or replaced). `change` gets the state as it is on disk
    // and may modify it; the result is written durably (fsync) before the lock is released and
    // copied to `out`. Never waits long: a directory locked by a stopped process fails with
    // "busy" after ~50 ms, and the caller retries at its next tick.
    bool update_state(const std::function<void(SpoolState &)> &change, SpoolState &out,
                      std::string *error) const;

    // Sealed snapshots of this base still in the spool, oldest first (`NAME.sonde` files only:
    // never a temporary nor a receipt).
    std::vector<SpoolEntry> pending() const;
    // Writes the receipt's sidecar `NAME.receipt` durably, then `NAME.sonde` (each: temporary
    // file, fsync, rename, fsync of the directory), so that a `.sonde` never exists without
    // its `.receipt` (docs/snapshot.md, "Receipts").
    bool write(const SpoolEntry &meta, const std::vector<uint8_t> &file, const Receipt &receipt,
               std::string *error) const;
    // Removes `NAME.sonde`, then its `NAME.receipt`.
    bool remove(const SpoolEntry &entry) const;
    // Leftovers of a crash: temporaries (never renamed, so never shipped), and receipts whose
    // `.sonde` does not exist (a crash between the two renames, or a file removed by the
    // uplink just before its receipt) once they are at least `min_age_seconds` old (file time),
    // so that a receipt another process is writing right now is never taken for one.
    int remove_temporaries(int64_t min_age_seconds = 60) const;

    // The receipt kept beside a spooled file: false when missing or malformed.
    bool read_receipt(const SpoolEntry &entry, Receipt &out) const;
    static std::string receipt_path(const std::string &sonde_path);

    // The fingerprint of the last snapshot written (see Shipper), 0 when unknown. Kept in its
    // own small file, <UAI>.last, so that the state file keeps the format older versions read;
    // it is not fsynced: losing it costs at most one snapshot that repeats the previous one.
    uint64_t load_fingerprint() const;
    void save_fingerprint(uint64_t fingerprint) const;

    // <UAI>.status: what the shipper last did, for `sonde-ctl status` (see ShipperStatus in
    // shipper.hpp). Written atomically (temporary file, rename), not fsynced, mode 0600.
    void save_status(const std::string &text) const;
    std::string status_path() const { return dir_ + "/" + base_id_ + ".status"; }

    std::string file_name(const SpoolEntry &meta) const;
    const std::string &dir() const { return dir_; }

    // Test hook: runs between the fsync of the temporary file and its rename.
    std::function<void()> before_rename;

  private:
    bool write_durably(const std::string &path, const void *data, size_t size,
                       std::string *error) const;
    std::string dir_, base_id_;
};

}  // namespace sonde::ship
