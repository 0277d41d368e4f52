#include "snapshot_read.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <set>
#include <vector>

#include "ship/spool.hpp"
#include "ship/windows.hpp"
#include "snapshot/console.hpp"

namespace sonde::shim {
namespace {

constexpr size_t kKeySample = 300;

std::vector<uint8_t> read_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

std::vector<std::string> sample_keys(std::span<const std::string> keys) {
    std::vector<std::string> out;
    const size_t step = keys.size() / kKeySample + 1;
    for (size_t i = 0; i < keys.size(); i += step) out.push_back(keys[i]);
    return out;
}

// Every figure of a snapshot as bytes (sequence and time left out), to compare two files.
std::set<std::string> figures_of(const snapshot::v1::Snapshot &s) {
    std::set<std::string> out;
    for (const auto &v : s.values()) out.insert("v" + v.SerializeAsString());
    for (const auto &g : s.gauges()) out.insert("g" + g.SerializeAsString());
    for (const auto &d : s.distinct()) out.insert("d" + d.SerializeAsString());
    for (const auto &d : s.distributions()) out.insert("h" + d.SerializeAsString());
    return out;
}

}  // namespace

SpoolRead read_spool(CheckLog &log, const std::string &uai, const SnapshotChannel &channel,
                     const crypto::KeyPair &console, std::span<const std::string> user_keys,
                     const time::TimeZone &tz, snapshot::IngestStore &store) {
    SpoolRead r;
    snapshot::OpenParams params;
    params.recipient = console;
    params.trusted_senders[snapshot::key_id(channel.server)] = channel.server;
    const std::vector<std::string> sample = sample_keys(user_keys);
    r.keys_sampled = sample.size();
    uint64_t leaked = 0, gauges_ahead = 0, names_off_hour = 0, names_not_first = 0, repeated = 0;
    std::set<std::string> previous;
    std::set<uint64_t> generations;
    int64_t previous_created = -1;
    for (const ship::SpoolEntry &e : ship::Spool(channel.spool_dir, uai).pending()) {
        const std::vector<uint8_t> bytes = read_bytes(e.path);
        ++r.files;
        r.bytes += bytes.size();
        snapshot::v1::Snapshot s;
        snapshot::Header header;
        std::string error;
        const snapshot::OpenError rc = snapshot::open_snapshot(bytes, params, s, header, &error);
        log.expect(uai, "snapshot " + e.path + " opens (" + error + ")", 1,
                   rc == snapshot::OpenError::None);
        if (rc != snapshot::OpenError::None) continue;
        ++r.opened;
        if (r.first_sequence == 0 || s.sequence() < r.first_sequence)
            r.first_sequence = s.sequence();
        r.last_sequence = std::max<uint64_t>(r.last_sequence, s.sequence());
        if (s.sequence() == r.first_sequence) r.first_boots = s.segment_boots();
        if (s.sequence() == r.last_sequence) r.last_boots = s.segment_boots();
        generations.insert(s.segment_generation());
        r.generations = generations.size();
        const std::string plain = s.SerializeAsString();
        r.plaintext_bytes += plain.size();
        for (const std::string &key : sample) leaked += plain.find(key) != std::string::npos;
        for (const auto &g : s.gauges()) {
            ++r.gauges_read;
            gauges_ahead += g.set_unix() > s.created_unix();
        }
        names_off_hour += ship::windows_at(tz, {}, e.first_hour).hour.start != e.first_hour;
        int64_t first_carried = INT64_MAX;
        for (const auto &v : s.values())
            if (v.window().kind() == snapshot::v1::WINDOW_KIND_HOUR)
                first_carried = std::min<int64_t>(first_carried, v.window().start_unix());
        names_not_first += first_carried != INT64_MAX && first_carried < e.first_hour;
        std::set<std::string> figures = figures_of(s);
        if (s.created_unix() == previous_created &&
            std::includes(previous.begin(), previous.end(), figures.begin(), figures.end()))
            ++repeated;
        previous = std::move(figures);
        previous_created = s.created_unix();
        store.ingest(s);
    }
    log.expect(uai, "snapshot gauges set later than the snapshot", 0, int64_t(gauges_ahead));
    log.expect(uai, "snapshot file names whose first hour is not an hour boundary", 0,
               int64_t(names_off_hour));
    log.expect(uai, "snapshot file names after the first hour carried", 0,
               int64_t(names_not_first));
    log.expect(uai, "snapshots repeating the previous one at the same time", 0, int64_t(repeated));
    log.expect(uai, "snapshot files in the spool", 1, r.files > 0);
    log.expect(uai, "user keys found in snapshot plaintexts", 0, int64_t(leaked));
    return r;
}

}  // namespace sonde::shim
