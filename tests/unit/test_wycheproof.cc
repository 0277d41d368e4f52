// Project Wycheproof vectors for the primitives under HPKE: X25519, AES-GCM,
// ChaCha20-Poly1305 and HKDF-SHA256.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/hpke.hpp"

#ifndef SONDE_TESTVECTORS_DIR
#error "SONDE_TESTVECTORS_DIR must name the vendored test vectors directory (tests/vectors)"
#endif

using namespace sonde::crypto;
using nlohmann::json;

namespace {

Bytes unhex(const json &j) {
    const std::string s = j.get<std::string>();
    REQUIRE(s.size() % 2 == 0);
    Bytes out;
    for (size_t i = 0; i < s.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    }
    return out;
}

// The vectors are part of the project: a missing file fails the test, it is never skipped.
json load_vectors(const std::string &relative) {
    const std::string path = std::string(SONDE_TESTVECTORS_DIR) + "/" + relative;
    INFO("test vector file: " << path);
    std::ifstream in(path);
    REQUIRE(in.good());
    return json::parse(in);
}

Bytes concat(Bytes a, const Bytes &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

struct AeadCounts {
    size_t valid = 0, invalid = 0, skipped = 0;
};

// Runs one aead_test_schema_v1 file, keeping only what HPKE uses: 96-bit nonces, 128-bit tags
// and the given key sizes. Valid: seal gives ct || tag and open gives msg. Invalid: open fails.
AeadCounts run_aead_file(const std::string &file, Aead aead, std::initializer_list<int> key_bits) {
    const json j = load_vectors(file);
    AeadCounts n;
    for (const json &g : j.at("testGroups")) {
        const int ks = g.at("keySize"), ivs = g.at("ivSize"), ts = g.at("tagSize");
        const bool wanted = ivs == 96 && ts == 128 &&
                            std::find(key_bits.begin(), key_bits.end(), ks) != key_bits.end();
        for (const json &t : g.at("tests")) {
            if (!wanted) {
                ++n.skipped;
                continue;
            }
            INFO(file << " tcId " << t.at("tcId").get<int>() << ": " << t.at("comment"));
            const Bytes key = unhex(t.at("key")), iv = unhex(t.at("iv")), aad = unhex(t.at("aad"));
            const Bytes msg = unhex(t.at("msg"));
            const Bytes sealed = concat(unhex(t.at("ct")), unhex(t.at("tag")));
            const std::string result = t.at("result");
            Bytes out;
            if (result == "valid") {
                REQUIRE(aead_seal(aead, key, iv, aad, msg, out) == Error::None);
                CHECK(out == sealed);
                REQUIRE(aead_open(aead, key, iv, aad, sealed, out) == Error::None);
                CHECK(out == msg);
                ++n.valid;
            } else {
                REQUIRE(result == "invalid");  // no "acceptable" AEAD cases exist
                CHECK(aead_open(aead, key, iv, aad, sealed, out) == Error::Auth);
                CHECK(out.empty());
                ++n.invalid;
            }
        }
    }
    CHECK(n.valid + n.invalid + n.skipped == j.at("numberOfTests").get<size_t>());
    return n;
}

}  // namespace

TEST_CASE("Wycheproof X25519", "[wycheproof]") {
    const json j = load_vectors("wycheproof/x25519_test.json");
    size_t valid = 0, acceptable_matched = 0, acceptable_rejected = 0, invalid = 0;
    for (const json &g : j.at("testGroups")) {
        REQUIRE(g.at("curve") == "curve25519");
        for (const json &t : g.at("tests")) {
            INFO("tcId " << t.at("tcId").get<int>() << ": " << t.at("comment"));
            const Bytes priv = unhex(t.at("private")), pub = unhex(t.at("public"));
            const Bytes shared = unhex(t.at("shared"));
            REQUIRE(priv.size() == 32);
            REQUIRE(pub.size() == 32);
            std::array<uint8_t, 32> out{};
            const Error e = x25519(std::span<const uint8_t, 32>(priv.data(), 32),
                                   std::span<const uint8_t, 32>(pub.data(), 32), out);
            const std::string result = t.at("result");
            if (result == "valid") {
                CHECK(e == Error::None);
                CHECK(Bytes(out.begin(), out.end()) == shared);
                ++valid;
            } else if (result == "acceptable") {
                if (e == Error::None) {
                    CHECK(Bytes(out.begin(), out.end()) == shared);
                    ++acceptable_matched;
                } else {
                    // Only an all-zero shared secret may be refused (RFC 9180 §7.1.4).
                    CHECK(e == Error::BadKey);
                    CHECK(shared == Bytes(32, 0));
                    ++acceptable_rejected;
                }
            } else {
                CHECK(e != Error::None);
                ++invalid;
            }
        }
    }
    CHECK(valid + acceptable_matched + acceptable_rejected + invalid ==
          j.at("numberOfTests").get<size_t>());
    // The pinned file (see testvectors/README.md) has 264 valid and 254 acceptable cases; the 31
    // acceptable ones with an all-zero shared secret are exactly those refused.
    CHECK(valid == 264);
    CHECK(acceptable_matched == 223);
    CHECK(acceptable_rejected == 31);
    WARN("Wycheproof x25519_test.json: " << valid << " valid matched, " << acceptable_matched
                                         << " acceptable matched, " << acceptable_rejected
                                         << " acceptable rejected (all-zero shared secret), "
                                         << invalid << " invalid");
}

TEST_CASE("Wycheproof AES-GCM (96-bit IV, 128-bit tag, AES-128/256)", "[wycheproof]") {
    const AeadCounts n128 = run_aead_file("wycheproof/aes_gcm_test.json", Aead::Aes128Gcm, {128});
    const AeadCounts n256 = run_aead_file("wycheproof/aes_gcm_test.json", Aead::Aes256Gcm, {256});
    CHECK(n128.valid == 40);
    CHECK(n128.invalid == 27);
    CHECK(n256.valid == 39);
    CHECK(n256.invalid == 27);
    WARN("Wycheproof aes_gcm_test.json: AES-128-GCM "
         << n128.valid << " valid + " << n128.invalid << " invalid, AES-256-GCM " << n256.valid
         << " valid + " << n256.invalid << " invalid (other IV/key sizes skipped)");
}

TEST_CASE("Wycheproof ChaCha20-Poly1305 (96-bit nonce)", "[wycheproof]") {
    const AeadCounts n =
        run_aead_file("wycheproof/chacha20_poly1305_test.json", Aead::ChaCha20Poly1305, {256});
    CHECK(n.valid == 256);
    CHECK(n.invalid == 60);
    WARN("Wycheproof chacha20_poly1305_test.json: " << n.valid << " valid + " << n.invalid
                                                    << " invalid (" << n.skipped
                                                    << " with other nonce sizes skipped)");
}

TEST_CASE("Wycheproof HKDF-SHA256", "[wycheproof]") {
    const json j = load_vectors("wycheproof/hkdf_sha256_test.json");
    size_t valid = 0, invalid = 0;
    for (const json &g : j.at("testGroups")) {
        for (const json &t : g.at("tests")) {
            INFO("tcId " << t.at("tcId").get<int>() << ": " << t.at("comment"));
            const Bytes ikm = unhex(t.at("ikm")), salt = unhex(t.at("salt"));
            const Bytes info = unhex(t.at("info"));
            const size_t size = t.at("size");
            Bytes okm;
            const Error e = hkdf_sha256(salt, ikm, info, size, okm);
            if (t.at("result") == "valid") {
                CHECK(e == Error::None);
                CHECK(okm == unhex(t.at("okm")));
                ++valid;
            } else {
                CHECK(e == Error::BadInput);  // output longer than 255 * HashLen
                ++invalid;
            }
        }
    }
    CHECK(valid + invalid == j.at("numberOfTests").get<size_t>());
    CHECK(valid == 83);
    CHECK(invalid == 3);
    WARN("Wycheproof hkdf_sha256_test.json: " << valid << " valid, " << invalid << " invalid");
}
