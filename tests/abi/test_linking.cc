// The .so exports only sonde_* and depends on nothing but libc: Boost, protobuf-lite, zstd,
// mbedTLS and libstdc++ are inside, hidden, so the host's own copies never clash.
#include <catch2/catch.hpp>
#include <cstdio>
#include <set>
#include <string>

namespace {
std::set<std::string> lines_of(const std::string &cmd) {
    std::set<std::string> out;
    FILE *p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) {
        std::string s(buf);
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        if (!s.empty()) out.insert(s);
    }
    ::pclose(p);
    return out;
}
}  // namespace

TEST_CASE("only sonde_* symbols are exported", "[abi][linking]") {
    const auto symbols = lines_of(std::string("nm -D --defined-only ") + SONDE_PLUGIN_PATH +
                                  " | awk '{print $NF}' | sed 's/@.*//'");
    CHECK(symbols == std::set<std::string>{"SONDE_1", "sonde_abi_magic", "sonde_get_api"});
}

TEST_CASE("the plugin needs only the C library", "[abi][linking]") {
    const auto needed = lines_of(std::string("readelf -d ") + SONDE_PLUGIN_PATH +
                                 " | sed -n 's/.*Shared library: \\[\\(.*\\)\\]/\\1/p'");
    for (const std::string &lib : needed) {
        INFO(lib);
        const bool libc_family = lib.rfind("libc.so", 0) == 0 || lib.rfind("ld-linux", 0) == 0 ||
                                 lib.rfind("libm.so", 0) == 0;
        const bool sanitizer =
            lib.find("san") != std::string::npos || lib.rfind("libstdc++", 0) == 0 ||
            lib.rfind("libgcc_s", 0) == 0;  // sanitizer builds link their runtimes
#ifdef SONDE_SANITIZED
        CHECK((libc_family || sanitizer));
#else
        (void)sanitizer;
        CHECK(libc_family);
#endif
    }
    CHECK_FALSE(needed.empty());
}
