// Bounds on the reading side (docs/snapshot.md): a file is bounded before it is read, and a
// snapshot's figures before anything is built from them; the biggest snapshot a plugin can
// produce still opens.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "catalog_layout.hpp"
#include "fixtures.hpp"
#include "snapshot/console.hpp"
#include "snapshot/ingest.hpp"
#include "snapshot/limits.hpp"
#include "snapshot/wire.hpp"

using namespace fixtures;
namespace catalog = sonde::catalog;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char name[] = "/tmp/sonde-bounds-XXXXXX";
        REQUIRE(::mkdtemp(name));
        path = name;
    }
    ~TempDir() { fs::remove_all(path); }
    std::string file(const char *name) const { return (path / name).string(); }
};

void write_file(const std::string &path, const Bytes &bytes) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
}

// `hours` hour windows of every hour cell (summed levels), then the six day, month and school
// year windows of every counter cell: the shape of the builder's output (builder.cc), each
// figure non-zero.
Snapshot shaped_snapshot(size_t hours, size_t period_cells) {
    Snapshot s = realistic_snapshot();
    s.values.clear();
    const int64_t first_hour = s.created_unix - int64_t(hours - 1) * 3600;
    for (size_t h = 0; h < hours; ++h) {
        const Window w{WindowKind::Hour, first_hour + int64_t(h) * 3600,
                       uint32_t(first_hour / 3600 + h)};
        for (uint32_t c = 0; c < catalog::kConnectionCells; ++c)
            s.values.push_back({w, MeasureKind::Connection, 1, 0, c / 6 + 1, c / 2 % 3 + 1,
                                c % 2 + 1, int64_t(c + 1), false, false, true});
        for (uint32_t e = 1; e <= catalog::kEventCount; ++e)
            s.values.push_back({w, MeasureKind::Event, e, 0, 0, 0, 0, 7, false, false, true});
        for (uint32_t t = 1; t <= catalog::kTallyCount; ++t)
            s.values.push_back({w, MeasureKind::Tally, t, 0, 0, 0, 0, 3, false, false, true});
    }
    const WindowKind kinds[] = {WindowKind::Day, WindowKind::Month, WindowKind::SchoolYear};
    for (size_t p = 0; p < 6 && period_cells; ++p)
        for (size_t c = 0; c < period_cells; ++c)
            s.values.push_back(
                {{kinds[p / 2], s.created_unix - int64_t(p % 2) * 86400 * 400, uint32_t(p)},
                 MeasureKind::Event,
                 uint32_t(c % catalog::kEventCount + 1),
                 uint32_t(c / catalog::kEventCount % catalog::kLevelSlots),
                 0,
                 0,
                 0,
                 int64_t(c + 1),
                 false,
                 false,
                 p % 2 == 1});
    return s;
}

// The hostile case: 150,000 figures, each a different hour window (within 4 MiB), and
// nothing else.
Snapshot hostile_snapshot(size_t figures) {
    Snapshot s = realistic_snapshot();
    s.values.clear();
    s.levels.clear();
    s.gauges.clear();
    s.distinct.clear();
    s.distributions.clear();
    s.suppressed.clear();
    for (size_t i = 0; i < figures; ++i)
        s.values.push_back({{WindowKind::Hour, int64_t(i) * 3600, uint32_t(i)},
                            MeasureKind::Connection,
                            1,
                            0,
                            1,
                            1,
                            1,
                            1,
                            false,
                            false,
                            true});
    return s;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("the figure bound is derived from the catalogue, with room to spare", "[bounds]") {
    // What the builder can produce: every hour of the latch ring and every period cell.
    CHECK(kMaxValues == kMaxHourWindows * kHourCellsPerWindow + 6 * catalog::kCounterCells);
    CHECK(kDefaultMaxFigures >= 2 * kMaxValues);
    // The 150,000 figures are far beyond it.
    CHECK(kDefaultMaxFigures < 150000);
}

TEST_CASE("the biggest snapshot a plugin can produce opens", "[bounds]") {
    Snapshot s = shaped_snapshot(kMaxHourWindows, catalog::kCounterCells);
    const size_t figures = s.values.size() + s.distinct.size() + s.distributions.size() +
                           s.gauges.size() + s.suppressed.size() + s.levels.size();
    CHECK(s.values.size() == kMaxValues);
    REQUIRE(figures <= kDefaultMaxFigures);
    const Bytes file = seal(s);
    v1::Snapshot out;
    Header h;
    std::string error;
    INFO(error);
    REQUIRE(open_snapshot(file, open_params(), out, h, &error) == OpenError::None);
    CHECK(size_t(out.values_size()) == s.values.size());
    IngestStore store;
    store.ingest(out);
    WARN("biggest plugin snapshot: " << figures << " figures, sealed " << file.size() << " B");
    if (const char *dir = std::getenv("SONDE_BOUNDS_DUMP_DIR"))  // for measuring (see below)
        write_file(std::string(dir) + "/biggest.sonde", file);
}

TEST_CASE("refused before parsing: more figures than a snapshot can hold", "[bounds]") {
    using clock = std::chrono::steady_clock;
    // Just over the bound, then the 150,000-figure file (within the 4 MiB bound).
    for (const size_t n : {kDefaultMaxFigures + 1, size_t{150000}}) {
        INFO(n << " figures");
        const Snapshot s = hostile_snapshot(n);
        Bytes bytes;
        encode(s, bytes);
        REQUIRE(bytes.size() <= kDefaultMaxUncompressed);
        const Bytes file = seal(s);
        v1::Snapshot out;
        Header h;
        std::string error;
        const auto t0 = clock::now();
        const OpenError e = open_snapshot(file, open_params(), out, h, &error);
        const double ms = ms_since(t0);
        CHECK(e == OpenError::TooLarge);
        CHECK(error.find(std::to_string(n) + " figures") != std::string::npos);
        CHECK(out.values_size() == 0);  // nothing was built
        CHECK(parse_snapshot(bytes, out, &error) == OpenError::TooLarge);
        // A bound raised by the caller lets it through (the check is the count, not the size).
        OpenParams raised = open_params();
        raised.max_figures = n;
        CHECK(open_snapshot(file, raised, out, h, &error) == OpenError::None);
        CHECK(size_t(out.values_size()) == n);
        WARN(n << " figures, " << bytes.size() << " B serialized, " << file.size()
               << " B sealed: refused in " << ms << " ms");
        if (const char *dir = std::getenv("SONDE_BOUNDS_DUMP_DIR"); dir && n == 150000) {
            // For measuring `sonde-ctl open` on it (docs/snapshot.md): the file, the console's
            // key, and the server's public key without and with its base.
            std::string err;
            write_file(std::string(dir) + "/big.sonde", file);
            save_key_pair(std::string(dir) + "/console.key", keys().console, true, &err);
            save_public_key(std::string(dir) + "/server.pub", keys().school.public_key, true, &err);
            save_public_key(std::string(dir) + "/server-bases.pub", keys().school.public_key, true,
                            &err, {kBase});
        }
    }
    // Malformed wire bytes are refused by the scan as by the parser.
    const Bytes junk = {0x52, 0xff, 0xff, 0xff, 0xff, 0x0f};  // field 10, length 4 GiB
    v1::Snapshot out;
    CHECK(parse_snapshot(junk, out, nullptr) == OpenError::BadPayload);
    CHECK(parse_snapshot(Bytes{0x0b}, out, nullptr) == OpenError::BadPayload);  // a group
}

TEST_CASE("a file is bounded before it is read", "[bounds]") {
    TempDir dir;
    const size_t bound = max_sealed_size(kDefaultMaxUncompressed);
    CHECK(bound > kDefaultMaxUncompressed);
    Bytes out;
    std::string error;

    SECTION("a regular file within the bound is read whole") {
        const Bytes file = seal(realistic_snapshot());
        write_file(dir.file("a.sonde"), file);
        REQUIRE(read_sealed_file(dir.file("a.sonde"), kDefaultMaxUncompressed, out, &error) ==
                OpenError::None);
        CHECK(out == file);
    }
    SECTION("a larger regular file is refused without reading it") {
        const std::string big = dir.file("big.sonde");
        { std::ofstream(big) << "SONDSNAP"; }
        fs::resize_file(big, uintmax_t{64} << 30);  // sparse: 64 GiB that nobody could read
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(read_sealed_file(big, kDefaultMaxUncompressed, out, &error) == OpenError::TooLarge);
        CHECK(ms_since(t0) < 10000);  // hang guard only
        CHECK(out.empty());
        CHECK(error.find("too large") == 0);
        // Just over the bound, and the bound itself.
        fs::resize_file(big, bound + 1);
        CHECK(read_sealed_file(big, kDefaultMaxUncompressed, out, &error) == OpenError::TooLarge);
        fs::resize_file(big, bound);
        CHECK(read_sealed_file(big, kDefaultMaxUncompressed, out, &error) == OpenError::None);
        CHECK(out.size() == bound);
    }
    SECTION("/dev/zero is read only up to the bound") {
        CHECK(read_sealed_file("/dev/zero", kDefaultMaxUncompressed, out, &error) ==
              OpenError::TooLarge);
        CHECK(out.empty());
        CHECK(read_sealed_file("/dev/zero", 1000, out, &error) == OpenError::TooLarge);
    }
    SECTION("a FIFO without a writer does not block: it reads as empty") {
        const std::string fifo = dir.file("fifo.sonde");
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        REQUIRE(read_sealed_file(fifo, kDefaultMaxUncompressed, out, &error) == OpenError::None);
        CHECK(out.empty());
        v1::Snapshot s;
        Header h;
        CHECK(open_snapshot(out, open_params(), s, h, &error) == OpenError::Truncated);
    }
    SECTION("a directory or a missing file") {
        CHECK(read_sealed_file(dir.path.string(), kDefaultMaxUncompressed, out, &error) ==
              OpenError::Internal);
        CHECK(read_sealed_file(dir.file("missing"), kDefaultMaxUncompressed, out, &error) ==
              OpenError::Internal);
        CHECK(error.find("missing") != std::string::npos);
    }
    SECTION("open_payload refuses a file above the bound before its header") {
        Bytes huge(bound + 1, 0);
        v1::Snapshot s;
        Header h;
        CHECK(open_snapshot(huge, open_params(), s, h, &error) == OpenError::TooLarge);
    }
}
