// The size budget of a 15-minute snapshot (<= 16 KiB sealed) and how long sealing takes.
#include <catch2/catch.hpp>
#include <chrono>

#include "fixtures.hpp"
#include "snapshot/wire.hpp"

using namespace fixtures;

TEST_CASE("a 15-minute snapshot of a 1,500-student school fits in 16 KiB", "[size]") {
    const Snapshot s = realistic_snapshot();
    Bytes bytes;
    encode(s, bytes);
    const Bytes file = seal(s);
    Header h;
    REQUIRE(parse_header(file, h, nullptr) == OpenError::None);
    WARN("snapshot: " << s.values.size() << " values, " << s.distinct.size() << " distinct, "
                      << s.distributions.size() << " distributions, " << s.gauges.size()
                      << " gauges, " << s.levels.size() << " levels; serialized " << bytes.size()
                      << " B, zstd-" << kDefaultCompressionLevel << " " << h.compressed_size
                      << " B, sealed file " << file.size() << " B");
    for (const int level : {1, 3, 9, 19}) {
        const auto t0 = std::chrono::steady_clock::now();
        const size_t size = zstd_frame(bytes, true, level).size();
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        WARN("zstd level " << level << ": " << size << " B in " << ms << " ms");
    }
    CHECK(h.uncompressed_size == bytes.size());
    CHECK(file.size() <= 16u * 1024);
    CHECK(s.values.size() >= 600);  // the fixture is as big as the brief's (guards the check above)
    CHECK(s.distinct.size() >= 6 * 36);
}

TEST_CASE("time to encode, compress and seal a 15-minute snapshot", "[size][benchmark]") {
    using clock = std::chrono::steady_clock;
    const Snapshot s = realistic_snapshot();
    const SealParams params = seal_params(s);
    const OpenParams open_with = open_params();
    constexpr int kRounds = 20;
    Bytes file;
    double seal_ms = 0, open_ms = 0;
    for (int i = 0; i < kRounds; ++i) {
        auto t0 = clock::now();
        REQUIRE(seal_snapshot(s, params, file, nullptr));
        auto t1 = clock::now();
        v1::Snapshot out;
        Header h;
        REQUIRE(open_snapshot(file, open_with, out, h, nullptr) == OpenError::None);
        auto t2 = clock::now();
        seal_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
        open_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    }
    Bytes bytes;
    auto t0 = clock::now();
    for (int i = 0; i < kRounds; ++i) encode(s, bytes);
    const double encode_ms =
        std::chrono::duration<double, std::milli>(clock::now() - t0).count() / kRounds;
    WARN("per snapshot (mean of " << kRounds << "): encode " << encode_ms << " ms; encode+zstd-"
                                  << kDefaultCompressionLevel << "+seal " << seal_ms / kRounds
                                  << " ms; open+decompress+parse " << open_ms / kRounds << " ms");
}
