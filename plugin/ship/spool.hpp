#pragma once
// The spool: sealed snapshots waiting to be uploaded, one file each, written durably
// (temporary file, fsync, rename, fsync of the directory) before they count as shipped, and
// the per-base state (next sequence number, first hour not yet spooled) that survives restarts.

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

    // Sealed snapshots of this base still in the spool, oldest first.
    std::vector<SpoolEntry> pending() const;
    bool write(const SpoolEntry &meta, const std::vector<uint8_t> &file, std::string *error) const;
    bool remove(const SpoolEntry &entry) const;
    // Leftovers of a crash between write and rename: never renamed, so never shipped.
    int remove_temporaries() const;

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
