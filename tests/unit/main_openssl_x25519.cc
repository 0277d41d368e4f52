// The crypto tests again, with OpenSSL's X25519 installed as the console installs it
// (ctest crypto-openssl:*): the RFC 9180 and Wycheproof vectors then check that implementation.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <chrono>

#include "crypto/hpke.hpp"
#include "crypto/x25519_openssl.hpp"

using namespace sonde::crypto;

int main(int argc, char **argv) {
    set_x25519_implementation(openssl_x25519);
    return Catch::Session().run(argc, argv);
}

namespace {

std::array<uint8_t, 32> random32() {
    KeyPair kp;
    REQUIRE(generate_key_pair(kp) == Error::None);
    return kp.private_key;
}

// Restores OpenSSL's implementation however the test ends.
struct RestoreOpenssl {
    ~RestoreOpenssl() { set_x25519_implementation(openssl_x25519); }
};

}  // namespace

TEST_CASE("X25519: OpenSSL and mbedTLS agree on random inputs, top bit of u set or not",
          "[x25519]") {
    RestoreOpenssl restore;
    for (int i = 0; i < 500; ++i) {
        const auto k = random32();
        auto u = random32();
        if (i % 2) u[31] |= 0x80;  // RFC 7748 §5: ignored by both
        std::array<uint8_t, 32> a{}, b{};
        set_x25519_implementation(openssl_x25519);
        const Error ea = x25519(k, u, a);
        set_x25519_implementation(nullptr);
        const Error eb = x25519(k, u, b);
        REQUIRE(ea == eb);
        REQUIRE(a == b);
    }
}

TEST_CASE("X25519: OpenSSL's refuses a low-order point like mbedTLS's", "[x25519]") {
    RestoreOpenssl restore;
    const std::array<uint8_t, 32> order_one = {1};  // u = 1: order 4 point's coordinate
    const auto k = random32();
    std::array<uint8_t, 32> out{};
    set_x25519_implementation(openssl_x25519);
    CHECK(x25519(k, order_one, out) == Error::BadKey);
    CHECK(out == std::array<uint8_t, 32>{});
    set_x25519_implementation(nullptr);
    CHECK(x25519(k, order_one, out) == Error::BadKey);
}

// Not a test: the cost of one multiplication with each, for docs/delivery.md.
TEST_CASE("X25519 cost, OpenSSL and mbedTLS", "[.bench]") {
    RestoreOpenssl restore;
    const auto k = random32();
    std::array<uint8_t, 32> u{9}, out{};
    for (const auto &[name, f] :
         {std::pair<const char *, X25519Implementation>{"openssl", openssl_x25519},
          {"mbedtls", nullptr}}) {
        set_x25519_implementation(f);
        const int n = f ? 20000 : 2000;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i) REQUIRE(x25519(k, u, out) == Error::None);
        const double us =
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count() /
            n;
        WARN(name << ": " << us << " us per X25519");
    }
}
