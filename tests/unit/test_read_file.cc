// platform::read_file (plugin/platform/read_file.hpp): the one bounded reader of small files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "platform/read_file.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using sonde::platform::read_file;
using sonde::platform::ReadError;

void write(const std::string &path, const std::string &text) {
    std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("read_file: a regular file within the bound, whole; one byte over it, refused") {
    TempDir dir;
    const std::string p = dir.path + "/f";
    write(p, "hello\n");
    std::string text(16, 'p');
    auto r = read_file(p, 6, text);
    REQUIRE(r);
    CHECK(text == "hello\n");
    CHECK(r.stat_size == 6);
    CHECK(S_ISREG(r.mode));
    std::vector<uint8_t> bytes{1, 2, 3};
    REQUIRE(read_file(p, 100, bytes));
    CHECK(bytes == std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', '\n'});

    r = read_file(p, 5, text);
    CHECK(r.error == ReadError::TooLarge);
    CHECK(r.stat_size == 6);
    CHECK(text.empty());

    write(p, "");
    REQUIRE(read_file(p, 0, text));
    CHECK(text.empty());
}

TEST_CASE("read_file: missing, a directory, a link (unless followed)") {
    TempDir dir;
    std::string text;
    auto r = read_file(dir.path + "/none", 10, text);
    CHECK(r.error == ReadError::Missing);
    CHECK(r.err == ENOENT);
    CHECK(read_file(dir.path, 10, text).error == ReadError::Directory);
#if !defined(_WIN32)  // links on Windows: a privilege, and reparse points (docs/windows.md)
    write(dir.path + "/target", "x");
    fs::create_symlink(dir.path + "/target", dir.path + "/link");
    r = read_file(dir.path + "/link", 10, text);
    CHECK(r.error == ReadError::Open);
    CHECK(r.err == ELOOP);
    REQUIRE(read_file(dir.path + "/link", 10, text, {.follow_links = true}));
    CHECK(text == "x");
#endif
}

#if !defined(_WIN32)  // no FIFO in a folder on Windows
TEST_CASE("read_file: a FIFO never blocks the opener; read only when asked, within the bound") {
    TempDir dir;
    const std::string fifo = dir.path + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::string text;
    // No writer: refused at once, not waited for (the hang guard is ctest's timeout).
    CHECK(read_file(fifo, 100, text).error == ReadError::NotRegular);
    CHECK(read_file("/dev/zero", 100, text).error == ReadError::NotRegular);

    // /dev/zero never ends: the bound stops it.
    std::vector<uint8_t> bytes;
    const auto r = read_file("/dev/zero", 100'000, bytes, {.special_files = true});
    CHECK(r.error == ReadError::TooLarge);
    CHECK(bytes.empty());

    // Asked to read special files: a FIFO without a writer reads as empty, at once.
    text.assign(3, 'x');
    REQUIRE(read_file(fifo, 100, text, {.special_files = true}));
    CHECK(text.empty());
    REQUIRE(read_file("/dev/null", 100, text, {.special_files = true}));
    CHECK(text.empty());
}
#endif
