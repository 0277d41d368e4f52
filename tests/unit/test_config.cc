#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "temp_dir.hpp"

using namespace sonde;

namespace {
void write(const std::string &path, const std::string &text) { std::ofstream(path) << text; }
}  // namespace

TEST_CASE("configuration round trip, mode 0600", "[config]") {
    const TempDir dir_tmp("sonde-config-");
    const std::string &dir = dir_tmp.path, path = config_path(dir, "0310001A");
    BaseConfig c;
    c.enabled = true;
    c.secret = {0x0011223344556677ULL, 0x8899aabbccddeeffULL};
    c.timezone = "Indian/Reunion";
    c.school_year_start = {8, 20};
    std::string error;
    REQUIRE(save_config(path, c, &error));
#ifndef _WIN32  // Windows: the folder's ACL protects the file (docs/windows.md)
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
#endif
    BaseConfig back;
    REQUIRE(load_config(path, back, &error) == ConfigLoad::Ok);
    CHECK(back.enabled);
    CHECK(back.secret.k0 == c.secret.k0);
    CHECK(back.secret.k1 == c.secret.k1);
    CHECK(back.timezone == "Indian/Reunion");
    CHECK(back.school_year_start.month == 8);
    CHECK(back.school_year_start.day == 20);
}

TEST_CASE("missing configuration means disabled, not an error", "[config]") {
    const TempDir dir("sonde-config-");
    BaseConfig c;
    std::string error;
    CHECK(load_config(dir.path + "/0310001A.conf", c, &error) == ConfigLoad::Missing);
    CHECK_FALSE(c.enabled);
}

TEST_CASE("malformed configurations are refused with a reason", "[config]") {
    const TempDir dir_tmp("sonde-config-");
    const std::string &dir = dir_tmp.path, path = dir + "/x.conf";
    const char *bad[] = {
        "[base]\nenabled = maybe\n",
        "[base]\nenabled = true\n",  // no secret
        "[base]\nenabled = true\nsecret = 123\n",
        "[base]\nenabled = true\nsecret = 00112233445566778899aabbccddeeff\ntimezone = "
        "Mars/Olympus\n",
        "[base]\nschool_year_start = 13-40\n",
        "[base]\ncolour = blue\n",
        "[other]\nenabled = false\n",
        "[base\nenabled = true\n",
        "",
    };
    for (const char *text : bad) {
        write(path, text);
        BaseConfig c;
        c.timezone = "untouched";
        std::string error;
        INFO(text);
        CHECK(load_config(path, c, &error) == ConfigLoad::Malformed);
        CHECK_FALSE(error.empty());
        CHECK(c.timezone == "untouched");
    }
}

TEST_CASE("UAI validation", "[config]") {
    CHECK(valid_base_id("0310001A"));
    CHECK_FALSE(valid_base_id("0310001a"));
    CHECK_FALSE(valid_base_id("031001A"));
    CHECK_FALSE(valid_base_id("0310001AB"));
    CHECK_FALSE(valid_base_id("../../etc"));
    CHECK_FALSE(valid_base_id(""));
    CHECK_FALSE(valid_base_id(nullptr));
}

namespace {
ConfigLoad parse(const std::string &text, BaseConfig &c, std::string *error = nullptr) {
    std::string ignored;
    return parse_config(text, "test.conf", c, error ? error : &ignored);
}
constexpr const char *kSecretLine = "secret = 00112233445566778899aabbccddeeff\n";
}  // namespace

TEST_CASE("comments: whole lines, and after a blank at the end of a line", "[config]") {
    BaseConfig c;
    const std::string text = std::string("# a comment\n  ; an indented one\n[base] ; the base\n") +
                             "enabled = true   # on\n" + kSecretLine +
                             "timezone = Indian/Reunion\t; tab before the comment\n"
                             "[snapshots]\n"
                             "spool_dir = /srv/spool#1;x   ; '#' and ';' inside a value stay\n"
                             "console_public_key = /etc/sonde/console.pub\n"
                             "sender_key = /etc/sonde/server.key\n"
                             "aead = aes256gcm      ; or chacha20poly1305\n";
    std::string error;
    REQUIRE(parse(text, c, &error) == ConfigLoad::Ok);
    CHECK(c.enabled);
    CHECK(c.timezone == "Indian/Reunion");
    CHECK(c.snapshots.spool_dir == "/srv/spool#1;x");
    CHECK_FALSE(c.snapshots.chacha20);
}

TEST_CASE("control characters make a file malformed; CRLF line ends are accepted", "[config]") {
    BaseConfig c;
    const std::string good = std::string("[base]\nenabled = true\n") + kSecretLine;
    REQUIRE(parse(good, c) == ConfigLoad::Ok);
    std::string crlf;
    for (char ch : good) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    CHECK(parse(crlf, c) == ConfigLoad::Ok);
    const std::string bad[] = {
        good + "timezone = Europe/Paris\r;\n",                   // CR inside a line
        good + std::string("timezone = Europe/Paris\0x\n", 26),  // NUL
        good + "timezone = Europe/\x1bParis\n",                  // escape
        good + "timezone = Europe/\x7fParis\n",                  // DEL
        good + "timezone = Europe\t/Paris\n",                    // tab inside a value
        good + "[snapshots]\nspool_dir = /srv/a\vb\nconsole_public_key = /k\nsender_key = /s\n",
    };
    for (const std::string &text : bad) {
        INFO(text);
        std::string error;
        CHECK(parse(text, c, &error) == ConfigLoad::Malformed);
        CHECK(error.find("control character") != std::string::npos);
    }
}

TEST_CASE("numbers in the file: digits only, in range", "[config]") {
    BaseConfig c;
    const std::string head =
        "[base]\nenabled = false\n[snapshots]\nspool_dir = /s\nconsole_public_key = /k\n"
        "sender_key = /p\ninterval_minutes = ";
    CHECK(parse(head + "15\n", c) == ConfigLoad::Ok);
    CHECK(c.snapshots.interval_minutes == 15);
    for (const char *bad : {"15abc", "-1", "+15", "4294967311", "0", "1441", "0x10", "1 5", ""}) {
        INFO(bad);
        CHECK(parse(head + bad + "\n", c) == ConfigLoad::Malformed);
    }
    CHECK(parse_decimal("18446744073709551615") == UINT64_MAX);
    CHECK_FALSE(parse_decimal("18446744073709551616"));
    CHECK_FALSE(parse_decimal("-0"));
    CHECK_FALSE(parse_decimal(" 1"));
    CHECK(parse_decimal("007") == 7);
}

TEST_CASE("table capacities: optional, in range, written back", "[config]") {
    const TempDir dir_tmp("sonde-config-");
    const std::string &dir = dir_tmp.path, path = config_path(dir, "0310001A");
    BaseConfig c;
    REQUIRE(parse("[base]\nenabled = false\n", c) == ConfigLoad::Ok);
    CHECK(c.users_capacity == 0);  // the defaults
    CHECK(c.students_capacity == 0);
    REQUIRE(parse("[base]\nusers_capacity = 40000\nstudents_capacity = 12000\n", c) ==
            ConfigLoad::Ok);
    CHECK(c.users_capacity == 40000);
    CHECK(c.students_capacity == 12000);
    for (const char *bad : {"users_capacity = 255", "users_capacity = 262145",
                            "students_capacity = 65537", "students_capacity = 8k"}) {
        INFO(bad);
        std::string error;
        CHECK(parse(std::string("[base]\n") + bad + "\n", c, &error) == ConfigLoad::Malformed);
        CHECK(error.find("capacity must be a whole number from") != std::string::npos);
    }
    c.secret = {1, 2};
    c.enabled = true;
    std::string error;
    REQUIRE(save_config(path, c, &error));
    BaseConfig back;
    REQUIRE(load_config(path, back, &error) == ConfigLoad::Ok);
    CHECK(back.users_capacity == 40000);
    CHECK(back.students_capacity == 12000);
}

TEST_CASE("save_config never writes a value that would not read back as given", "[config]") {
    const TempDir dir_tmp("sonde-config-");
    const std::string &dir = dir_tmp.path, path = config_path(dir, "0310001A");
    BaseConfig base;
    base.enabled = true;
    base.secret = {1, 2};
    base.snapshots.spool_dir = "/var/spool/sonde";
    base.snapshots.console_public_key = "/etc/sonde/console.pub";
    base.snapshots.sender_key = "/etc/sonde/server.key";
    std::string error;
    REQUIRE(save_config(path, base, &error));
    const std::string before = [&] {
        std::ifstream in(path);
        return std::string((std::istreambuf_iterator<char>(in)), {});
    }();
    const std::string injections[] = {
        "/var/spool\n[base]\nenabled = false",  // line injection
        "/var/spool\r",
        std::string("/var/spool\0x", 12),
        "/var/spool\tx",
        "/var/spool ;x",  // would be cut by the comment rule
        "/var/spool #x",
        " /var/spool",  // leading or trailing blanks are trimmed by the parser
        "/var/spool ",
    };
    for (const std::string &bad : injections) {
        for (int field = 0; field < 4; ++field) {
            BaseConfig c = base;
            std::string &target = field == 0   ? c.snapshots.spool_dir
                                  : field == 1 ? c.snapshots.console_public_key
                                  : field == 2 ? c.snapshots.sender_key
                                               : c.timezone;
            target = bad;
            INFO("field " << field << ": " << bad);
            error.clear();
            CHECK_FALSE(save_config(path, c, &error));
            CHECK_FALSE(error.empty());
            std::ifstream in(path);
            CHECK(std::string((std::istreambuf_iterator<char>(in)), {}) == before);
        }
    }
    // No temporary file left behind: the folder holds the configuration only.
    size_t files = 0;
    for (const auto &e : std::filesystem::directory_iterator(dir)) {
        INFO(e.path().string());
        CHECK(e.path().filename() == std::filesystem::path(path).filename());
        ++files;
    }
    CHECK(files == 1);
}

// Issue 6 item 1.10: every configuration example of the documentation, pasted as is, must be
// accepted by the real parser. Examples are the ```ini blocks of README.md and docs/*.md. A
// block without a [base] section is a fragment to add to a base's file (such as [snapshots]):
// it is parsed after a minimal [base] section ("enabled = false"), as in a real file.
TEST_CASE("every configuration example in the docs is accepted", "[config][docs]") {
    namespace fs = std::filesystem;
    const fs::path root = SONDE_SOURCE_DIR;
    std::vector<fs::path> pages = {root / "README.md"};
    for (const auto &e : fs::directory_iterator(root / "docs"))
        if (e.path().extension() == ".md") pages.push_back(e.path());
    std::sort(pages.begin(), pages.end());
    int examples = 0;
    for (const fs::path &page : pages) {
        std::ifstream in(page);
        REQUIRE(in);
        std::string line, block;
        int line_no = 0, start = 0;
        size_t fence_indent = 0;  // a block inside a list item is indented
        bool inside = false;
        while (std::getline(in, line)) {
            ++line_no;
            const size_t indent = std::min(line.find_first_not_of(' '), line.size());
            const std::string_view text = std::string_view(line).substr(indent);
            if (!inside && text.starts_with("```ini")) {
                inside = true;
                start = line_no;
                fence_indent = indent;
                block.clear();
            } else if (inside && text.starts_with("```")) {
                inside = false;
                ++examples;
                const bool fragment = block.find("[base]") == std::string::npos;
                BaseConfig c;
                std::string error;
                INFO(page.filename().string() << ":" << start << "\n" << block);
                CHECK(parse_config((fragment ? "[base]\nenabled = false\n" : "") + block,
                                   page.string(), c, &error) == ConfigLoad::Ok);
                CHECK(error.empty());
            } else if (inside) {
                block += line.substr(std::min(indent, fence_indent)) + "\n";
            }
        }
        INFO(page.string());
        CHECK_FALSE(inside);  // an unterminated block
    }
    // The snapshot section and the operator guide's full file, at least.
    CHECK(examples >= 2);
}
