// The Windows toolchain's smoke test (docs/windows.md, scripts/windows-smoke.sh): one program
// that links the static zstd, mbedTLS and protobuf-lite that scripts/mingw-deps.sh builds,
// the project's own snapshot schema, and the header-only Boost, Catch2 and nlohmann-json,
// cross-compiled with cmake/mingw-w64-x86_64.cmake and run under Wine by ctest. Every
// expected value comes from a specification or a published test vector.
//
//   sonde_windows_smoke [CATCH2 ARGS]   the checks (Catch2)
//   sonde_windows_smoke --print         digests of deterministic zstd frames and protobuf
//                                       encodings, one per line: scripts/windows-smoke.sh
//                                       compares them with the same program built for Linux
//                                       (the same bytes on both platforms)
#define CATCH_CONFIG_RUNNER
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/sha256.h>
#include <zstd.h>

#include <atomic>
#include <boost/crc.hpp>
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sonde_snapshot.pb.h"

namespace {

using Bytes = std::vector<uint8_t>;

std::string hex(const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}
std::string hex(const Bytes &b) { return hex(b.data(), b.size()); }
std::string hex(const std::string &b) {
    return hex(reinterpret_cast<const uint8_t *>(b.data()), b.size());
}

Bytes unhex(const std::string &s) {
    Bytes out;
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    }
    return out;
}

std::string sha256(const void *p, size_t n) {
    uint8_t d[32];
    if (mbedtls_sha256_ret(static_cast<const unsigned char *>(p), n, d, 0) != 0) return "";
    return hex(d, sizeof d);
}

// 256 KiB that compress neither to nothing nor not at all: a fixed linear congruential
// generator over a small alphabet, with repeats.
Bytes sample_input() {
    Bytes in(256 * 1024);
    uint32_t x = 12345;
    for (size_t i = 0; i < in.size(); ++i) {
        x = x * 1103515245u + 12345u;
        in[i] = static_cast<uint8_t>('a' + (x >> 16) % 13);
        if (i >= 64 && (x >> 8) % 4 == 0) in[i] = in[i - 64];
    }
    return in;
}

Bytes zstd_compress(const Bytes &in, int level) {
    Bytes out(ZSTD_compressBound(in.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
    out.resize(ZSTD_isError(n) ? 0 : n);  // empty: an error
    return out;
}

sonde::snapshot::v1::Window sample_window() {
    sonde::snapshot::v1::Window w;
    w.set_kind(sonde::snapshot::v1::WINDOW_KIND_HOUR);
    w.set_start_unix(1700000000);
    w.set_number(5);
    return w;
}

sonde::snapshot::v1::Value sample_value() {
    sonde::snapshot::v1::Value v;
    *v.mutable_window() = sample_window();
    v.set_measure_kind(sonde::snapshot::v1::MEASURE_KIND_CONNECTION);
    v.set_value(-1);
    return v;
}

// Blinding randomness for mbedtls_ecp_mul: it changes the ladder's coordinates, never the
// result, so a fixed generator is enough here.
int test_rng(void *state, unsigned char *out, size_t len) {
    auto *x = static_cast<uint64_t *>(state);
    for (size_t i = 0; i < len; ++i) {
        *x = *x * 6364136223846793005u + 1442695040888963407u;
        out[i] = static_cast<unsigned char>(*x >> 56);
    }
    return 0;
}

// RFC 7748 X25519 with mbedTLS, as plugin/crypto/x25519.cc does it: 0 and the shared secret,
// or mbedTLS's error.
int x25519(const Bytes &scalar, const Bytes &u, Bytes &out) {
    Bytes k = scalar, x = u;
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    x[31] &= 127;
    mbedtls_ecp_group grp;
    mbedtls_mpi d;
    mbedtls_ecp_point P, R;
    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&P);
    mbedtls_ecp_point_init(&R);
    uint64_t rng = 1;
    int rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_CURVE25519);
    if (rc == 0) rc = mbedtls_mpi_read_binary_le(&d, k.data(), k.size());
    if (rc == 0) rc = mbedtls_ecp_point_read_binary(&grp, &P, x.data(), x.size());
    if (rc == 0) rc = mbedtls_ecp_mul(&grp, &R, &d, &P, test_rng, &rng);
    out.assign(32, 0);
    if (rc == 0) rc = mbedtls_mpi_write_binary_le(&R.X, out.data(), out.size());
    mbedtls_ecp_point_free(&R);
    mbedtls_ecp_point_free(&P);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&grp);
    return rc;
}

}  // namespace

TEST_CASE("mbedTLS: SHA-256 of the FIPS 180-2 vectors") {
    CHECK(sha256("abc", 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256("", 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("mbedTLS: X25519 on Wycheproof's vectors") {
    std::ifstream f(SONDE_SMOKE_X25519_VECTORS, std::ios::binary);
    REQUIRE(f.good());
    auto doc = nlohmann::json::parse(f);
    int valid = 0, acceptable = 0;
    for (const auto &group : doc.at("testGroups")) {
        for (const auto &t : group.at("tests")) {
            Bytes out;
            int rc = x25519(unhex(t.at("private")), unhex(t.at("public")), out);
            const std::string result = t.at("result");
            INFO("tcId " << t.at("tcId").get<int>() << " " << result);
            if (result == "valid") {
                REQUIRE(rc == 0);
                CHECK(hex(out) == t.at("shared").get<std::string>());
                ++valid;
            } else if (rc == 0) {  // "acceptable": mbedTLS may refuse a low-order point
                CHECK(hex(out) == t.at("shared").get<std::string>());
                ++acceptable;
            }
        }
    }
    CHECK(valid == 264);
    CHECK(acceptable > 0);
}

TEST_CASE("zstd: a raw-block frame built by hand from RFC 8878 decodes") {
    // Magic; frame header: Single_Segment_flag, 1-byte Frame_Content_Size = 5; one last Raw
    // block of 5 bytes (Last_Block = 1, Block_Type = 0, Block_Size = 5: 0x29 0x00 0x00).
    const uint8_t frame[] = {0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05, 0x29,
                             0x00, 0x00, 'h',  'e',  'l',  'l',  'o'};
    char out[16] = {};
    size_t n = ZSTD_decompress(out, sizeof out, frame, sizeof frame);
    REQUIRE(!ZSTD_isError(n));
    CHECK(std::string(out, n) == "hello");
}

TEST_CASE("zstd: frames round-trip at levels 1, 3 and 19") {
    const Bytes in = sample_input();
    for (int level : {1, 3, 19}) {
        Bytes frame = zstd_compress(in, level);
        REQUIRE(!frame.empty());
        CHECK(frame.size() < in.size());
        CHECK(ZSTD_getFrameContentSize(frame.data(), frame.size()) == in.size());
        Bytes back(in.size());
        size_t n = ZSTD_decompress(back.data(), back.size(), frame.data(), frame.size());
        REQUIRE(!ZSTD_isError(n));
        CHECK(back == in);
    }
}

TEST_CASE("protobuf-lite: the snapshot schema's encoding is the wire format's") {
    // Encoding spec: tag = field << 3 | wire type; varints little-endian base 128; int64 -1 is
    // ten bytes; a nested message is length-delimited (wire type 2).
    const std::string window =
        "08"
        "01"
        "10"
        "80e2cfaa06"
        "18"
        "05";
    std::string bytes;
    REQUIRE(sample_window().SerializeToString(&bytes));
    CHECK(hex(bytes) == window);
    REQUIRE(sample_value().SerializeToString(&bytes));
    CHECK(hex(bytes) == "0a0a" + window +
                            "1003"
                            "40ffffffffffffffffff01");

    sonde::snapshot::v1::Value back;
    REQUIRE(back.ParseFromString(bytes));
    CHECK(back.window().start_unix() == 1700000000);
    CHECK(back.window().number() == 5u);
    CHECK(back.measure_kind() == sonde::snapshot::v1::MEASURE_KIND_CONNECTION);
    CHECK(back.value() == -1);
    CHECK_FALSE(back.ParseFromString(std::string("\x0a\x05\x08", 3)));  // truncated
}

TEST_CASE("Boost: CRC-32 check value, and a file mapped with Boost.Interprocess") {
    boost::crc_32_type crc;
    crc.process_bytes("123456789", 9);
    CHECK(crc.checksum() == 0xcbf43926u);  // the CRC-32 catalogue's check value

    namespace bip = boost::interprocess;
    auto path = std::filesystem::temp_directory_path() / "sonde-windows-smoke.bin";
    std::filesystem::remove(path);
    {
        std::ofstream f(path, std::ios::binary);
        f << std::string(4096, '\0');  // a file at full size, as segments are
    }
    {
        bip::file_mapping fm(path.string().c_str(), bip::read_write);
        bip::mapped_region region(fm, bip::read_write);
        REQUIRE(region.get_size() == 4096u);
        std::memcpy(region.get_address(), "sonde\r\n\x1a", 8);  // \x1a, \r\n: binary, not text
        REQUIRE(region.flush());
    }
    std::ifstream f(path, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    f.close();
    CHECK(content.size() == 4096u);
    CHECK(content.substr(0, 8) == std::string("sonde\r\n\x1a", 8));
    std::filesystem::remove(path);
}

TEST_CASE("posix thread model: std::thread and atomics") {
    std::atomic<int> n{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&n] {
            for (int j = 0; j < 1000; ++j) n.fetch_add(1, std::memory_order_relaxed);
        });
    }
    for (auto &t : threads) t.join();
    CHECK(n.load() == 4000);
}

int main(int argc, char **argv) {
    if (argc == 2 && std::strcmp(argv[1], "--print") == 0) {
        const Bytes in = sample_input();
        std::printf("input %s\n", sha256(in.data(), in.size()).c_str());
        for (int level : {1, 3, 19}) {
            Bytes frame = zstd_compress(in, level);
            if (frame.empty()) return 1;
            std::printf("zstd-%d %zu %s\n", level, frame.size(),
                        sha256(frame.data(), frame.size()).c_str());
        }
        std::string bytes;
        if (!sample_value().SerializeToString(&bytes)) return 1;
        std::printf("protobuf %s\n", hex(bytes).c_str());
        return 0;
    }
    return Catch::Session().run(argc, argv);
}
