#include "ship/shipper.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/siphash.hpp"
#include "ship/builder.hpp"
#include "ship/latcher.hpp"
#include "ship/policy.hpp"
#include "snapshot/envelope.hpp"
#include "snapshot/wire.hpp"

namespace sonde::ship {

Shipper::~Shipper() { resign(); }

void Shipper::resign() {
    if (lock_fd_ >= 0) ::close(lock_fd_);  // closing drops the flock
    lock_fd_ = -1;
    view_.reset();
    spool_.reset();  // another process may ship meanwhile: reload the state when re-elected
}

void Shipper::fail(const std::string &why) {
    last_error_ = why;
    ++stats_.errors;
}

bool Shipper::elect(const std::string &dir, const std::string &base_id) {
    if (lock_fd_ >= 0) return true;
    lock_path_ = dir + "/" + base_id + ".lock";
    int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail("cannot open " + lock_path_ + ": " + std::strerror(errno));
        return false;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // another process ships this base
        ::close(fd);
        return false;
    }
    lock_fd_ = fd;
    next_snapshot_ = 0;
    spool_.reset();  // the previous shipper may have advanced the sequence: read it again
    return true;
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
    if (!elect(sc.spool_dir, base_id) || !prepare(segment_path, base_id, config)) return;
    const Windows open = windows_at(tz, config.school_year_start, now);
    stats_.latches += ensure_latches(view_->mapping(), open, now, view_->cells());
    const int64_t interval = int64_t(sc.interval_minutes) * 60;
    // Aligned to the clock; a clock set back (NTP, a replay) re-aligns instead of waiting.
    if (next_snapshot_ == 0 || now + interval < next_snapshot_)
        next_snapshot_ = (now / interval + 1) * interval;
    if (now < next_snapshot_ && !final) return;
    if (write_snapshot(config, tz, now, final)) next_snapshot_ = (now / interval + 1) * interval;
}

uint64_t snapshot_fingerprint(const snapshot::Snapshot &s, int64_t open_hour_start) {
    snapshot::Snapshot copy = s;
    copy.sequence = 0;
    copy.created_unix = 0;
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

    BuildRequest request{&*view_, &tz,        config.timezone,    config.school_year_start,
                         now,     first_hour, state_.sequence + 1};
    BuildStats built;
    snapshot::Snapshot s = build_snapshot(request, &built);
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

    // The sequence number is made durable before the file exists: a crash after this never
    // reuses it (nothing was written with it before).
    SpoolState next = state_;
    ++next.sequence;
    if (!spool_->save_state(next, &error)) return fail(error), false;
    state_ = next;

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
    if (!snapshot::seal_snapshot(s, seal, file, &error)) return fail(error), false;
    // The name gives the first hour the file carries (an hour boundary).
    SpoolEntry entry{state_.sequence, built.hours ? built.first_hour : first_hour, now, {}};
    if (!spool_->write(entry, file, &error)) return fail(error), false;
    spool_->save_fingerprint(fingerprint);
    for (const SpoolEntry &old : merged) spool_->remove(old);  // only once the merge is durable
    stats_.merges += merged.empty() ? 0 : 1;

    state_.next_hour_start = std::max(state_.next_hour_start, built.last_closed_hour_end);
    if (!spool_->save_state(state_, &error)) return fail(error), false;
    ++stats_.snapshots;
    stats_.last_bytes = file.size();
    return true;
}

}  // namespace sonde::ship
