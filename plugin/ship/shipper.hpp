#pragma once
// The shipper of a base: one process per base is elected with flock() on the spool's lock
// file (the kernel drops it when the process dies, so another attached process takes over at
// its next tick). The elected one keeps the latches and writes a snapshot every interval and
// at clean shutdown. It runs on the plugin's watcher thread: the host never waits on it.

#include <cstdint>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "crypto/hpke.hpp"
#include "platform/files.hpp"
#include "reader/view.hpp"
#include "ship/spool.hpp"
#include "snapshot/keys.hpp"
#include "snapshot/model.hpp"
#include "time/timezone.hpp"

namespace sonde::ship {

struct ShipperStats {
    uint64_t snapshots = 0, merges = 0, errors = 0, latches = 0;
    uint64_t jump_closings = 0;  // snapshots that closed windows before a jump ahead of the clock
    uint64_t reelections = 0;    // elections given up: the lock file was deleted or replaced
    uint64_t unchanged = 0;      // final snapshots skipped: equal to the last one written
    uint64_t last_bytes = 0;
};

// What a snapshot says, apart from its sequence, its time and the closed hours it repeats
// because they were not spooled yet: two snapshots with one fingerprint carry the same figures
// for the same open hour. Never 0.
uint64_t snapshot_fingerprint(const snapshot::Snapshot &s, int64_t open_hour_start);

class Shipper {
  public:
    Shipper() = default;
    Shipper(const Shipper &) = delete;
    Shipper &operator=(const Shipper &) = delete;
    ~Shipper();

    // One step: (re)elect, latch the windows of `now`, write a snapshot when due (or `final`).
    void tick(const std::string &segment_path, const std::string &base_id, const BaseConfig &config,
              const time::TimeZone &tz, int64_t now, bool final);
    // Gives up the election (base closed).
    void resign();

    bool elected() const { return lock_.valid(); }
    const ShipperStats &stats() const { return stats_; }
    const std::string &last_error() const { return last_error_; }

  private:
    bool elect(const std::string &dir, const std::string &base_id);
    bool still_elected() const;
    // Writes <spool>/<UAI>.status (see docs/operator.md) when something other than the error
    // count changed, at least once a minute, and at the final step (`force`).
    void publish_status(const std::string &spool_dir, const std::string &base_id, bool force);
    void step(const std::string &segment_path, const std::string &base_id, const BaseConfig &config,
              const time::TimeZone &tz, int64_t now, bool final, bool elected);
    bool prepare(const std::string &segment_path, const std::string &base_id,
                 const BaseConfig &config);
    bool write_snapshot(const BaseConfig &config, const time::TimeZone &tz, int64_t now,
                        bool final);
    void fail(const std::string &why);

    platform::File lock_;  // the locked lock file while elected
    std::string lock_path_;
    std::optional<reader::SegmentView> view_;
    std::optional<Spool> spool_;
    SpoolState state_{};
    SnapshotConfig keys_for_{};  // the configuration the keys below were loaded from
    crypto::KeyPair sender_{};
    snapshot::PublicKey console_{};
    int64_t next_snapshot_ = 0;
    // The spool's state named another segment generation (a new segment, or a lost state):
    // the next snapshot written restarts the coverage (Coverage.restart).
    bool coverage_restart_ = false;
    ShipperStats stats_;
    std::string last_error_;
    // For the status file: the clock of the current step, when the last error and the last
    // snapshot happened, and what was last written (rewritten at most once a minute unless
    // something other than the error count changed).
    int64_t now_ = 0, last_error_at_ = 0, last_snapshot_at_ = 0;
    std::string status_written_;
    int64_t status_written_at_ = 0;
};

}  // namespace sonde::ship
