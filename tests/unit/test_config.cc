#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/config.hpp"

using namespace sonde;

namespace {
std::string temp_dir() {
    char tmpl[] = "/tmp/sonde-config-XXXXXX";
    return ::mkdtemp(tmpl);
}
void write(const std::string &path, const std::string &text) { std::ofstream(path) << text; }
}  // namespace

TEST_CASE("configuration round trip, mode 0600", "[config]") {
    const std::string dir = temp_dir(), path = config_path(dir, "0310001A");
    BaseConfig c;
    c.enabled = true;
    c.secret = {0x0011223344556677ULL, 0x8899aabbccddeeffULL};
    c.timezone = "Indian/Reunion";
    c.school_year_start = {8, 20};
    std::string error;
    REQUIRE(save_config(path, c, &error));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
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
    BaseConfig c;
    std::string error;
    CHECK(load_config(temp_dir() + "/0310001A.conf", c, &error) == ConfigLoad::Missing);
    CHECK_FALSE(c.enabled);
}

TEST_CASE("malformed configurations are refused with a reason", "[config]") {
    const std::string dir = temp_dir(), path = dir + "/x.conf";
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
