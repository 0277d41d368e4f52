#include "ship/shipper.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>

#include "core/siphash.hpp"
#include "platform/process.hpp"
#include "ship/builder.hpp"
#include "ship/latcher.hpp"
#include "ship/policy.hpp"
#include "snapshot/envelope.hpp"
#include "snapshot/wire.hpp"

namespace sonde::ship {

Shipper::~Shipper() { resign(); }

void Shipper::resign() {
    // Unlocked explicitly before closing: Windows may take a while to release the lock of a
    // closed handle, and another process is waiting to be elected.
    lock_.unlock();
    lock_.close();
    view_.reset();
    spool_.reset();  // another process may ship meanwhile: reload the state when re-elected
}

void Shipper::fail(const std::string &why) {
    last_error_ = why;
    last_error_at_ = now_;
    ++stats_.errors;
}

// The flock elects only while the locked file is the one at the path: a lock file deleted
// (or replaced) while a shipper holds it lets another process lock a new file at the path,
// and both would ship. So the shipper checks at every step that the path still names its
// file, and gives up the election when it does not (then runs the election again).
bool Shipper::still_elected() const {
    platform::FileInfo held, at_path;
    return lock_.info(held) && held.links > 0 && platform::path_info(lock_path_, at_path, true) &&
           held.same_file(at_path);
}

bool Shipper::elect(const std::string &dir, const std::string &base_id) {
    const std::string path = dir + "/" + base_id + ".lock";
    if (lock_.valid()) {
        if (path == lock_path_ && still_elected()) return true;
        ++stats_.reelections;
        resign();
    }
    lock_path_ = path;
    for (int attempt = 0; attempt < 3; ++attempt) {
        platform::File file =
            platform::File::open(lock_path_,
                                 platform::kRead | platform::kWrite | platform::kCreate |
                                     platform::kNoFollow | platform::kNonBlock,
                                 0600);
        if (!file) {
            fail("cannot open " + lock_path_ + ": " + platform::error_text(errno));
            return false;
        }
        if (!file.lock(platform::Lock::Exclusive))  // another process ships this base
            return false;
        platform::FileInfo st;
        if (!file.info(st) || st.kind != platform::FileKind::Regular) {
            fail(lock_path_ + " is not a regular file");
            return false;
        }
        lock_ = std::move(file);
        // Locked a file that was unlinked (or replaced) between our open and our lock: the
        // process that replaced it may hold the new one. Try again on what the path names now.
        if (!still_elected()) {
            lock_.unlock();
            lock_.close();
            continue;
        }
        next_snapshot_ = 0;
        spool_.reset();  // the previous shipper may have advanced the sequence: read it again
        return true;
    }
    return false;
}

void Shipper::publish_status(const std::string &spool_dir, const std::string &base_id, bool force) {
    auto clean = [](std::string text) {
        for (char &c : text)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
        return text;
    };
    // What matters to the operator, without the counters that change at every failing step.
    const std::string key = clean(last_error_) + "\n" + std::to_string(last_error_at_ != 0) +
                            std::to_string(last_snapshot_at_) + std::to_string(stats_.snapshots);
    if (!force && key == status_written_ && now_ >= status_written_at_ &&
        now_ - status_written_at_ < 60)
        return;
    const bool error_now = last_error_at_ != 0 && last_error_at_ >= last_snapshot_at_;
    std::string text = "sonde-shipper-status 1\n";
    text += "pid " + std::to_string(platform::current_pid()) + "\n";
    text += "updated " + std::to_string(now_) + "\n";
    text += "snapshots_written " + std::to_string(stats_.snapshots) + "\n";
    text += "last_snapshot_at " + std::to_string(last_snapshot_at_) + "\n";
    text += "last_sequence " + std::to_string(state_.sequence) + "\n";
    text += "errors " + std::to_string(stats_.errors) + "\n";
    text += "failing " + std::string(error_now ? "yes" : "no") + "\n";
    text += "last_error_at " + std::to_string(last_error_at_) + "\n";
    text += "last_error " + clean(last_error_) + "\n";
    Spool(spool_dir, base_id).save_status(text);
    status_written_ = key;
    status_written_at_ = now_;
}

bool Shipper::prepare(const std::string &segment_path, const std::string &base_id,
                      const BaseConfig &config) {
    const SnapshotConfig &sc = config.snapshots;
    if (!view_) {
        std::string error;
        view_ = reader::SegmentView::open(segment_path, &error, shm::Access::ReadWrite);
        if (!view_) {
            fail(error);
            return false;
        }
    }
    if (!spool_ || spool_->dir() != sc.spool_dir) {
        spool_.emplace(sc.spool_dir, base_id);
        coverage_restart_ = false;  // decided again from the state read now
        std::string error;
        if (!spool_->load_state(state_, &error)) {
            fail(error);
            spool_.reset();
            return false;
        }
        spool_->remove_temporaries();
    }
    if (!(keys_for_ == sc)) {
        std::string error;
        if (!snapshot::load_key_pair(sc.sender_key, sender_, &error) ||
            !snapshot::load_public_key(sc.console_public_key, console_, &error)) {
            fail(error);
            return false;
        }
        keys_for_ = sc;
    }
    return true;
}

void Shipper::tick(const std::string &segment_path, const std::string &base_id,
                   const BaseConfig &config, const time::TimeZone &tz, int64_t now, bool final) {
    const SnapshotConfig &sc = config.snapshots;
    if (sc.spool_dir.empty()) return;
    now_ = now;
    const uint64_t errors = stats_.errors;
    const bool elected = elect(sc.spool_dir, base_id);
    if (elected || stats_.errors != errors) {  // only the shipper (or a failed election) reports
        step(segment_path, base_id, config, tz, now, final, elected);
        publish_status(sc.spool_dir, base_id, final);
    }
}

void Shipper::step(const std::string &segment_path, const std::string &base_id,
                   const BaseConfig &config, const time::TimeZone &tz, int64_t now, bool final,
                   bool elected) {
    const SnapshotConfig &sc = config.snapshots;
    if (!elected || !prepare(segment_path, base_id, config)) return;
    // Clock jumps (docs/snapshot.md): windows never go back. A clock behind the latest latch
    // counts as that latch's time, so what is recorded then goes to the windows open at it.
    const int64_t latest = latest_latch_time(view_->mapping());
    const int64_t at = std::max(now, latest);
    const Windows open = windows_at(tz, config.school_year_start, at);
    if (latest > 0) {
        // A jump ahead over one whole day or more: before the new windows are latched (their
        // latches may take the slots of the old ones), a snapshot at the time of the last latch
        // closes the windows open then with everything counted in them. Until it is durable,
        // nothing new is latched: counts stay in the old windows, late but never lost.
        const Windows last = windows_at(tz, config.school_year_start, latest);
        if (open.day.start > last.day.end) {
            if (!write_snapshot(config, tz, latest, false)) return;
            ++stats_.jump_closings;
        }
    }
    stats_.latches += ensure_latches(view_->mapping(), open, at, view_->cells());
    const int64_t interval = int64_t(sc.interval_minutes) * 60;
    // Aligned to the clock; a clock set back (NTP, a replay) re-aligns instead of waiting.
    if (next_snapshot_ == 0 || now + interval < next_snapshot_)
        next_snapshot_ = (now / interval + 1) * interval;
    if (now < next_snapshot_ && !final) return;
    if (write_snapshot(config, tz, at, final)) next_snapshot_ = (now / interval + 1) * interval;
}

uint64_t snapshot_fingerprint(const snapshot::Snapshot &s, int64_t open_hour_start) {
    snapshot::Snapshot copy = s;
    copy.sequence = 0;
    copy.created_unix = 0;
    copy.coverage = {};  // where the previous snapshot stopped: not a figure
    std::erase_if(copy.values, [&](const snapshot::Value &v) {
        return v.window.kind == snapshot::WindowKind::Hour && v.window.start_unix < open_hour_start;
    });
    snapshot::Bytes bytes;
    snapshot::encode(copy, bytes);
    bytes.resize(bytes.size() + sizeof open_hour_start);
    std::memcpy(bytes.data() + bytes.size() - sizeof open_hour_start, &open_hour_start,
                sizeof open_hour_start);
    static constexpr SipKey kFingerprintKey{0x736f6e6465667072ULL, 0x696e747072696e74ULL};
    const uint64_t h = siphash24(kFingerprintKey, bytes.data(), bytes.size());
    return h ? h : 1;  // 0 means "unknown"
}

bool Shipper::write_snapshot(const BaseConfig &config, const time::TimeZone &tz, int64_t now,
                             bool final) {
    const SnapshotConfig &sc = config.snapshots;
    const shm::Header &h = view_->header();
    if (state_.generation != h.generation) {  // a new segment: its hours start at its creation
        state_.generation = h.generation;
        coverage_restart_ = true;
        // (or at the replayed clock, when a manual clock replays a time before the creation),
        // from the start of the hour before, so that file names name an hour boundary. The
        // search goes back over the whole hour ring: a first snapshot that comes more than an
        // hour after the first latch (an interval of a day) still carries every latched hour
        // (hours without a latch are skipped by the builder).
        const int64_t from = std::min<int64_t>(h.creator_start_unix_ns / 1000000000, now) -
                             int64_t(shm::kHourLatchSlots - 1) * 3600;
        state_.next_hour_start = windows_at(tz, config.school_year_start, from).hour.start;
    }
    std::string error;

    // Bounded spool: instead of dropping, the newest files (whose windows this snapshot still
    // covers: hours in the latch ring, days from yesterday on) are merged into this one. The
    // oldest file of yesterday is kept: it carries the day before as its closed day, which this
    // snapshot does not carry, and most measures have no open-day figure (catalogue views)
    // that an earlier file would hold instead.
    std::vector<SpoolEntry> merged;
    int64_t first_hour = state_.next_hour_start;
    const std::vector<SpoolEntry> pending = spool_->pending();
    if (pending.size() + 1 > sc.spool_max_files) {
        const Windows open = windows_at(tz, config.school_year_start, now);
        const int64_t oldest_hour = open.hour.start - int64_t(shm::kHourLatchSlots - 2) * 3600;
        const int64_t since = previous(tz, config.school_year_start, open.day).start;
        for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
            if (it->created < since || it->first_hour < oldest_hour) break;
            const auto older = std::next(it);
            if (it->created < open.day.start && (older == pending.rend() || older->created < since))
                break;  // the oldest file of yesterday
            merged.push_back(*it);
            first_hour = std::min(first_hour, it->first_hour);
        }
    }

    BuildRequest request{&*view_, &tz,        config.timezone,     config.school_year_start,
                         now,     first_hour, state_.sequence + 1, coverage_restart_};
    BuildStats built;
    snapshot::Snapshot s = build_snapshot(request, &built);
    // Durability (docs/architecture.md): the segment's file is written back as of this
    // snapshot, so a power cut loses at most what is counted after it.
    shm::flush(view_->mapping(), now);
    apply_policy(s, {sc.k_anonymity, sc.include_school_only});

    // A clean shutdown of several processes makes each of them write a final snapshot (each
    // becomes the shipper when the previous one resigns). When nothing changed since the last
    // snapshot written (whichever process wrote it), the final one would repeat it: skip it.
    const uint64_t fingerprint =
        snapshot_fingerprint(s, windows_at(tz, config.school_year_start, now).hour.start);
    if (final && merged.empty() && fingerprint == spool_->load_fingerprint()) {
        ++stats_.unchanged;
        return true;
    }

    // The sequence number is allocated in one place, under the spool directory's lock, from
    // the state on disk, and made durable (fsync) before the file exists: no two processes
    // ever get the same one, and a crash after this never reuses it.
    SpoolState next;
    const SpoolState mine = state_;
    if (!spool_->update_state(
            [&](SpoolState &disk) {
                disk.sequence = std::max(disk.sequence, mine.sequence) + 1;
                // A restart of the coverage keeps the old generation on disk until its file is
                // written: a shipper that dies before then leaves the next one to restart it.
                if (coverage_restart_) return;
                disk.next_hour_start = mine.next_hour_start;
                disk.generation = mine.generation;
            },
            next, &error))
        return fail(error), false;
    state_ = mine;  // what was written, but for a restart's generation (kept in memory)
    state_.sequence = next.sequence;
    s.sequence = state_.sequence;

    snapshot::SealParams seal;
    seal.recipient_public = console_;
    seal.sender = sender_;
    seal.aead = sc.chacha20 ? crypto::Aead::ChaCha20Poly1305 : crypto::Aead::Aes256Gcm;
    seal.base_id = s.base_id;
    seal.sequence = state_.sequence;
    seal.created_unix = now;
    // zstd level 3: within 10-25 % of level 19's size on snapshots, at a fraction of the CPU.
    seal.compression_level = 3;
    std::vector<uint8_t> file;
    snapshot::Receipt receipt{};
    static_assert(std::is_same_v<snapshot::Receipt, Receipt>);
    if (!snapshot::seal_snapshot(s, seal, file, &error, &receipt)) return fail(error), false;
    // The name gives the first hour the file carries (an hour boundary). Its receipt goes
    // beside it, durable before the file (the uplink deletes a file only once the console
    // returns this receipt).
    SpoolEntry entry{state_.sequence, built.hours ? built.first_hour : first_hour, now, {}};
    if (!spool_->write(entry, file, receipt, &error)) return fail(error), false;
    coverage_restart_ = false;  // this file restarted the coverage; the next ones chain to it
    spool_->save_fingerprint(fingerprint);
    for (const SpoolEntry &old : merged) spool_->remove(old);  // only once the merge is durable
    stats_.merges += merged.empty() ? 0 : 1;

    state_.next_hour_start = std::max(state_.next_hour_start, built.last_closed_hour_end);
    const SpoolState done = state_;
    if (!spool_->update_state(
            [&](SpoolState &disk) {
                disk.sequence = std::max(disk.sequence, done.sequence);  // never back
                disk.next_hour_start = done.next_hour_start;
                disk.generation = done.generation;
            },
            state_, &error))
        return fail(error), false;
    ++stats_.snapshots;
    last_snapshot_at_ = now_;
    stats_.last_bytes = file.size();
    return true;
}

}  // namespace sonde::ship
