#pragma once
// Snapshots seen from a host and from the console: a spool, a server key pair and a console key
// pair in the test's directory, turned on in the base's configuration; spooled files opened
// with the console-side library.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "plugin.hpp"
#include "ship/spool.hpp"
#include "snapshot/console.hpp"
#include "snapshot/keys.hpp"

namespace test {

namespace snap = sonde::snapshot;

inline constexpr int64_t kTue24Nov10h = 1795510800;  // 2026-11-24 10:00 Paris, a Tuesday

struct Channel {
    std::string spool, server_key, console_key;
    sonde::crypto::KeyPair server{}, console{};
};

// Opens the base on the simulated clock first, then turns snapshots on: the shipper never sees
// the machine's real time (in manual-clock mode it runs only when the clock is set).
inline Channel make_channel(test::TempBase &tb, sonde_base *base, int64_t start, uint32_t k = 5,
                            bool school_only = false, uint32_t max_files = 2000,
                            uint32_t interval_minutes = 15) {
    REQUIRE(api().clock_set(base, start) == SONDE_OK);
    const uint64_t reloads = test::diagnostics(base).config_reloads;
    Channel c;
    c.spool = tb.dir + "/spool";
    c.server_key = tb.dir + "/server.key";
    c.console_key = tb.dir + "/console.key";
    std::filesystem::create_directory(c.spool);
    std::filesystem::permissions(c.spool, std::filesystem::perms::owner_all);  // 0700
    std::string error;
    REQUIRE(snap::generate_key_file(c.server_key, c.server, &error));
    REQUIRE(snap::generate_key_file(c.console_key, c.console, &error));
    sonde::BaseConfig config;
    config.enabled = true;
    config.secret = {1, 2};
    config.snapshots.spool_dir = c.spool;
    config.snapshots.console_public_key = c.console_key;  // the public half is read from it
    config.snapshots.sender_key = c.server_key;
    config.snapshots.k_anonymity = k;
    config.snapshots.include_school_only = school_only;
    config.snapshots.spool_max_files = max_files;
    config.snapshots.interval_minutes = interval_minutes;
    REQUIRE(sonde::save_config(sonde::config_path(tb.config_dir, tb.id), config, &error));
    REQUIRE(test::eventually([&] { return test::diagnostics(base).config_reloads > reloads; }));
    REQUIRE(api().clock_set(base, start) == SONDE_OK);  // the shipper's first step: latches
    return c;
}

inline std::vector<uint8_t> read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

// Opens a spooled file as the console does, and checks the receipt kept beside it (its
// sidecar, docs/snapshot.md) is the one the console computes.
inline snap::v1::Snapshot open(const Channel &c, const std::string &path) {
    snap::OpenParams params;
    params.recipient = c.console;
    snap::Header header;
    std::string error;
    const auto bytes = read_file(path);
    REQUIRE(snap::parse_header(bytes, header, &error) == snap::OpenError::None);
    snap::trust_sender(params, c.server.public_key, header.base());
    snap::Receipt receipt{};
    params.receipt = &receipt;
    snap::v1::Snapshot s;
    INFO(error);
    REQUIRE(snap::open_snapshot(bytes, params, s, header, &error) == snap::OpenError::None);
    sonde::ship::SpoolEntry entry;
    entry.path = path;
    sonde::ship::Receipt kept{};
    CHECK(sonde::ship::Spool(c.spool, header.base()).read_receipt(entry, kept));
    CHECK(kept == receipt);
    return s;
}

// A figure of a window kind for an event at a level (-1: any level, summed).
inline int64_t value_of(const snap::v1::Snapshot &s, snap::v1::WindowKind kind,
                        snap::v1::MeasureKind measure, uint32_t id, int level = -1,
                        int64_t window_start = -1) {
    int64_t sum = 0;
    for (const auto &v : s.values())
        if (v.window().kind() == kind && v.measure_kind() == measure && v.measure_id() == id &&
            (level < 0 || int(v.level()) == level) &&
            (window_start < 0 || v.window().start_unix() == window_start))
            sum += v.value();
    return sum;
}

}  // namespace test
