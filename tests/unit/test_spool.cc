// The spool's receipts (docs/snapshot.md, "Receipts"): every NAME.sonde has its NAME.receipt,
// written durably before the file is renamed into place; crash leftovers are cleaned.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "host_process.hpp"
#include "roles.hpp"
#include "ship/spool.hpp"
#include "temp_dir.hpp"

using sonde::ship::Receipt;
using sonde::ship::Spool;
using sonde::ship::SpoolEntry;

namespace {

std::string slurp(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

Receipt sample_receipt(uint8_t seed) {
    Receipt r{};
    for (size_t i = 0; i < r.size(); ++i) r[i] = uint8_t(seed + 17 * i);
    return r;
}

size_t files_ending(const std::string &dir, const std::string &suffix) {
    size_t n = 0;
    for (const auto &e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        n += name.size() >= suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    }
    return n;
}

void make_old(const std::string &path) {  // 20 years ago
    namespace fs = std::filesystem;
    fs::last_write_time(path, fs::last_write_time(path) - std::chrono::hours(24 * 365 * 20));
}

bool exists(const std::string &path) { return std::filesystem::exists(path); }

}  // namespace

TEST_CASE("each spooled file has its receipt beside it: 64 lowercase hex digits, mode 0600",
          "[spool]") {
    TempDir dir;
    const Spool spool(dir.path, "0310001A");
    const Receipt receipt = sample_receipt(0xa0);
    std::string error;
    REQUIRE(spool.write({7, 1795510800, 1795512600, {}}, {1, 2, 3}, receipt, &error));
    const auto files = spool.pending();  // the sidecar is not a spooled file
    REQUIRE(files.size() == 1);
    const std::string sidecar =
        dir.path + "/0310001A-00000000000000000007-1795510800-1795512600.receipt";
    CHECK(Spool::receipt_path(files[0].path) == sidecar);
    std::string hex;
    for (uint8_t b : receipt) {
        static constexpr char kDigits[] = "0123456789abcdef";
        hex += kDigits[b >> 4];
        hex += kDigits[b & 15];
    }
    CHECK(slurp(sidecar) == hex + "\n");
#ifndef _WIN32  // Windows: the spool folder's ACL protects its files (docs/windows.md)
    struct stat st {};
    REQUIRE(::stat(sidecar.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
#endif
    Receipt back{};
    REQUIRE(spool.read_receipt(files[0], back));
    CHECK(back == receipt);

    // An uppercase or truncated sidecar is not a receipt.
    std::ofstream(sidecar) << std::string(64, 'A') << "\n";
    CHECK_FALSE(spool.read_receipt(files[0], back));
    std::ofstream(sidecar) << hex.substr(0, 63) << "\n";
    CHECK_FALSE(spool.read_receipt(files[0], back));

    // Removing a file removes its receipt (after it).
    REQUIRE(spool.remove(files[0]));
    CHECK(spool.pending().empty());
    CHECK(!exists(sidecar));
}

namespace {

// A shipper that dies (`--role spool-crash DIR`) between the receipt's rename and the file's:
// exits 0 there, 1 if the write did not get to the file's rename.
int spool_crash(const std::vector<std::string> &args) {
    if (args.size() != 1) return 2;
    const SpoolEntry meta{3, 1795510800, 1795512600, {}};
    Spool spool(args[0], "0310001A");
    int renames = 0;
    // The first rename is the receipt's, the second the file's: die just before it.
    spool.before_rename = [&] {
        if (++renames == 2) std::_Exit(0);
    };
    std::string error;
    spool.write(meta, {1, 2, 3}, sample_receipt(1), &error);
    return 1;
}
SONDE_TEST_ROLE("spool-crash", spool_crash);

}  // namespace

TEST_CASE(
    "a crash between the receipt and the file's rename leaves no file, and the receipt "
    "is cleaned later",
    "[spool]") {
    TempDir dir;
    const std::string sonde =
        dir.path + "/0310001A-00000000000000000003-1795510800-1795512600.sonde";
    const std::string sidecar = Spool::receipt_path(sonde);
    // Another process (this program again, in the role above) dies there.
    test::HostProcess child(test::self_path(), {"--role", "spool-crash", dir.path});
    REQUIRE(child.started());
    REQUIRE(child.wait() == 0);

    const Spool spool(dir.path, "0310001A");
    CHECK(spool.pending().empty());  // never renamed: never shipped
    CHECK(exists(sidecar));
    CHECK(exists(sonde + ".tmp"));

    // The next shipper cleans temporaries at once, and the receipt once it is clearly a
    // leftover (not one another process is writing right now).
    CHECK(spool.remove_temporaries() == 1);
    CHECK(!exists(sonde + ".tmp"));
    CHECK(exists(sidecar));
    make_old(sidecar);
    CHECK(spool.remove_temporaries() == 1);
    CHECK(!exists(sidecar));
}

TEST_CASE("cleaning never removes the receipt of a file in the spool, nor another base's",
          "[spool]") {
    TempDir dir;
    const Spool spool(dir.path, "0310001A"), other(dir.path, "0310002B");
    std::string error;
    REQUIRE(spool.write({1, 0, 10, {}}, {1}, sample_receipt(1), &error));
    REQUIRE(other.write({1, 0, 10, {}}, {1}, sample_receipt(2), &error));
    const std::string orphan = dir.path + "/0310002B-00000000000000000009-0-10.receipt";
    std::ofstream(orphan) << std::string(64, 'a') << "\n";
    for (const auto &e : std::filesystem::directory_iterator(dir.path)) make_old(e.path().string());
    CHECK(spool.remove_temporaries() == 0);
    CHECK(files_ending(dir.path, ".receipt") == 3);
    CHECK(other.remove_temporaries() == 1);  // its own leftover only
    CHECK(!exists(orphan));
    CHECK(files_ending(dir.path, ".receipt") == 2);
    Receipt r{};
    CHECK(spool.read_receipt(spool.pending().at(0), r));
    CHECK(r == sample_receipt(1));
}
