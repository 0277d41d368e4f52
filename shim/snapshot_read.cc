#include "snapshot_read.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
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

// `<UAI>-*.receipt` files whose `.sonde` is not in the spool.
size_t orphan_receipts(const std::string &dir, const std::string &uai) {
    size_t orphans = 0;
    std::error_code ec;
    for (const auto &f : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = f.path().filename().string();
        if (name.rfind(uai + "-", 0) != 0 || f.path().extension() != ".receipt") continue;
        std::filesystem::path sonde = f.path();
        orphans += !std::filesystem::exists(sonde.replace_extension(".sonde"), ec);
    }
    return orphans;
}

}  // namespace

SpoolRead read_spool(CheckLog &log, const std::string &uai, const SnapshotChannel &channel,
                     const crypto::KeyPair &console, std::span<const std::string> user_keys,
                     const time::TimeZone &tz, snapshot::IngestStore &store) {
    SpoolRead r;
    snapshot::OpenParams params;
    params.recipient = console;
    snapshot::trust_sender(params, channel.server, uai);
    const std::vector<std::string> sample = sample_keys(user_keys);
    r.keys_sampled = sample.size();
    uint64_t leaked = 0, gauges_ahead = 0, names_off_hour = 0, names_not_first = 0, repeated = 0;
    std::set<std::string> previous;
    std::set<uint64_t> generations;
    int64_t previous_created = -1;
    const ship::Spool spool(channel.spool_dir, uai);
    uint64_t receipts_wrong = 0;
    std::map<uint64_t, int64_t> coverage_reached;  // generation -> highest hours_to so far
    uint64_t coverage_gaps = 0, coverage_not_restarted = 0, coverage_backwards = 0,
             hours_outside_coverage = 0;
    for (const ship::SpoolEntry &e : spool.pending()) {
        const std::vector<uint8_t> bytes = read_bytes(e.path);
        ++r.files;
        r.bytes += bytes.size();
        snapshot::v1::Snapshot s;
        snapshot::Header header;
        std::string error;
        snapshot::Receipt computed{};
        params.receipt = &computed;
        const snapshot::OpenError rc = snapshot::open_snapshot(bytes, params, s, header, &error);
        log.expect(uai, "snapshot " + e.path + " opens (" + error + ")", 1,
                   rc == snapshot::OpenError::None);
        if (rc != snapshot::OpenError::None) continue;
        ++r.opened;
        // The shipper's sidecar holds the receipt the console computes on opening the file.
        ship::Receipt kept{};
        receipts_wrong += !spool.read_receipt(e, kept) || kept != computed;
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
        // Coverage (docs/snapshot.md): each file chains to the ones before it in its segment
        // generation, only the first one restarts it, and its hour figures lie in it (the
        // closed hours before hours_to, the open hour at hours_to).
        const auto &cov = s.coverage();
        auto reached = coverage_reached.find(s.segment_generation());
        if (reached == coverage_reached.end()) {
            coverage_not_restarted += !cov.restart();
            coverage_reached[s.segment_generation()] = cov.hours_to();
        } else {
            coverage_gaps += cov.hours_from() > reached->second;
            reached->second = std::max(reached->second, cov.hours_to());
        }
        coverage_backwards += cov.hours_to() < cov.hours_from();
        for (const auto &v : s.values())
            if (v.window().kind() == snapshot::v1::WINDOW_KIND_HOUR)
                hours_outside_coverage += v.window().start_unix() < cov.hours_from() ||
                                          v.window().start_unix() > cov.hours_to();
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
    log.expect(uai, "snapshot coverage gaps (hours_from above the hours reached)", 0,
               int64_t(coverage_gaps));
    log.expect(uai, "first snapshots of a generation that do not restart the coverage", 0,
               int64_t(coverage_not_restarted));
    log.expect(uai, "snapshot coverages ending before they start", 0, int64_t(coverage_backwards));
    log.expect(uai, "hour figures outside their snapshot's coverage", 0,
               int64_t(hours_outside_coverage));
    log.expect(uai, "snapshot files without their receipt (or another one)", 0,
               int64_t(receipts_wrong));
    log.expect(uai, "receipts in the spool without their snapshot file", 0,
               int64_t(orphan_receipts(channel.spool_dir, uai)));
    log.expect(uai, "user keys found in snapshot plaintexts", 0, int64_t(leaked));
    return r;
}

}  // namespace sonde::shim
