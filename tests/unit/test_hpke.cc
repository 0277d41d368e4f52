// RFC 9180 HPKE: the official test vectors (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, all three
// AEADs, modes base and auth), then round trips and tampering through the public API.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "crypto/hpke.hpp"
#include "crypto/internal.hpp"

#ifndef SONDE_TESTVECTORS_DIR
#error "SONDE_TESTVECTORS_DIR must name the vendored test vectors directory (tests/vectors)"
#endif

using namespace sonde::crypto;
using nlohmann::json;

namespace {

Bytes unhex(const std::string &s) {
    REQUIRE(s.size() % 2 == 0);
    Bytes out;
    for (size_t i = 0; i < s.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    }
    return out;
}

Bytes unhex(const json &j) { return unhex(j.get<std::string>()); }

// The vectors are part of the project: a missing file fails the test, it is never skipped.
json load_vectors(const std::string &relative) {
    const std::string path = std::string(SONDE_TESTVECTORS_DIR) + "/" + relative;
    INFO("test vector file: " << path);
    std::ifstream in(path);
    REQUIRE(in.good());
    return json::parse(in);
}

template <size_t N>
Bytes to_bytes(const std::array<uint8_t, N> &a) {
    return Bytes(a.begin(), a.end());
}

Bytes text(const char *s) { return Bytes(s, s + std::char_traits<char>::length(s)); }

}  // namespace

TEST_CASE("HPKE RFC 9180 test vectors, X25519 + HKDF-SHA256, modes base and auth", "[hpke]") {
    const json vectors = load_vectors("hpke/rfc9180-x25519-hkdfsha256-base-auth.json");
    REQUIRE(vectors.is_array());
    REQUIRE(vectors.size() == 6);

    size_t suites = 0, encryptions = 0, exports = 0;
    for (const json &v : vectors) {
        const int mode = v.at("mode");
        const int aead_id = v.at("aead_id");
        INFO("mode " << mode << ", aead_id " << aead_id);
        REQUIRE(v.at("kem_id") == 32);
        REQUIRE(v.at("kdf_id") == 1);
        REQUIRE((mode == 0 || mode == 2));
        const bool auth = mode == 2;
        const auto aead = static_cast<Aead>(aead_id);
        const Bytes info = unhex(v.at("info"));

        // §7.1.3 DeriveKeyPair
        const Bytes ikmE = unhex(v.at("ikmE"));
        const KeyPair kpE = derive_key_pair(ikmE);
        CHECK(to_bytes(kpE.private_key) == unhex(v.at("skEm")));
        CHECK(to_bytes(kpE.public_key) == unhex(v.at("pkEm")));
        const KeyPair kpR = derive_key_pair(unhex(v.at("ikmR")));
        CHECK(to_bytes(kpR.private_key) == unhex(v.at("skRm")));
        CHECK(to_bytes(kpR.public_key) == unhex(v.at("pkRm")));
        KeyPair kpS{};
        if (auth) {
            kpS = derive_key_pair(unhex(v.at("ikmS")));
            CHECK(to_bytes(kpS.private_key) == unhex(v.at("skSm")));
            CHECK(to_bytes(kpS.public_key) == unhex(v.at("pkSm")));
        }
        std::array<uint8_t, 32> pk;
        REQUIRE(public_from_private(kpR.private_key, pk) == Error::None);
        CHECK(pk == kpR.public_key);

        // §4.1 KEM: shared_secret on both sides
        const Bytes expected_ss = unhex(v.at("shared_secret"));
        Bytes ss, enc;
        if (auth) {
            REQUIRE(detail::auth_encap(kpR.public_key, kpS, ikmE, ss, enc) == Error::None);
        } else {
            REQUIRE(detail::encap(kpR.public_key, ikmE, ss, enc) == Error::None);
        }
        CHECK(enc == unhex(v.at("enc")));
        CHECK(ss == expected_ss);
        Bytes ss_r;
        if (auth) {
            REQUIRE(detail::auth_decap(enc, kpR, kpS.public_key, ss_r) == Error::None);
        } else {
            REQUIRE(detail::decap(enc, kpR, ss_r) == Error::None);
        }
        CHECK(ss_r == expected_ss);

        // §5.1 key schedule through the public setup functions
        Context sender, receiver;
        Bytes enc_api;
        if (auth) {
            REQUIRE(setup_auth_s(aead, kpR.public_key, kpS, info, enc_api, sender, ikmE) ==
                    Error::None);
            REQUIRE(setup_auth_r(aead, enc_api, kpR, kpS.public_key, info, receiver) ==
                    Error::None);
        } else {
            REQUIRE(setup_base_s(aead, kpR.public_key, info, enc_api, sender, ikmE) == Error::None);
            REQUIRE(setup_base_r(aead, enc_api, kpR, info, receiver) == Error::None);
        }
        CHECK(enc_api == enc);
        for (const Context *ctx : {&sender, &receiver}) {
            CHECK(ctx->aead == aead);
            CHECK(ctx->seq == 0);
            CHECK(ctx->key == unhex(v.at("key")));
            CHECK(ctx->base_nonce == unhex(v.at("base_nonce")));
            CHECK(ctx->exporter_secret == unhex(v.at("exporter_secret")));
        }

        // §5.2 encryption: sequence numbers 0..256 in order
        const json &encs = v.at("encryptions");
        REQUIRE(encs.size() == 257);
        for (size_t i = 0; i < encs.size(); ++i) {
            INFO("encryption #" << i);
            const json &e = encs[i];
            REQUIRE(sender.seq == i);
            std::array<uint8_t, kNonceSize> nonce;
            REQUIRE(detail::compute_nonce(sender, nonce) == Error::None);
            CHECK(to_bytes(nonce) == unhex(e.at("nonce")));
            const Bytes aad = unhex(e.at("aad")), pt = unhex(e.at("pt")), ct = unhex(e.at("ct"));
            Bytes got_ct, got_pt;
            REQUIRE(sender.seal(aad, pt, got_ct) == Error::None);
            CHECK(got_ct == ct);
            REQUIRE(receiver.open(aad, ct, got_pt) == Error::None);
            CHECK(got_pt == pt);
            ++encryptions;
        }
        CHECK(sender.seq == 257);
        CHECK(receiver.seq == 257);

        // §5.3 secret export
        const json &exps = v.at("exports");
        REQUIRE(exps.size() == 3);
        for (const json &x : exps) {
            const Bytes exporter_context = unhex(x.at("exporter_context"));
            const size_t len = x.at("L");
            Bytes out_s, out_r;
            REQUIRE(sender.export_secret(exporter_context, len, out_s) == Error::None);
            REQUIRE(receiver.export_secret(exporter_context, len, out_r) == Error::None);
            CHECK(out_s == unhex(x.at("exported_value")));
            CHECK(out_r == out_s);
            ++exports;
        }
        ++suites;
    }
    CHECK(suites == 6);
    CHECK(encryptions == 6 * 257);
    CHECK(exports == 6 * 3);
    WARN("HPKE RFC 9180 vectors checked: " << suites << " suites (modes base+auth x AES-128-GCM, "
                                           << "AES-256-GCM, ChaCha20-Poly1305), " << encryptions
                                           << " encryptions, " << exports << " exports");
}

TEST_CASE("HPKE seal_auth/open_auth round trip and tampering", "[hpke]") {
    const Bytes info = text("sonde snapshot v1"), aad = text("school 42");
    const Bytes pt = text("attendance statistics: 17 present, 2 absent");

    for (Aead aead : {Aead::Aes256Gcm, Aead::ChaCha20Poly1305}) {
        INFO("aead " << static_cast<int>(aead));
        KeyPair r, s, other;
        REQUIRE(generate_key_pair(r) == Error::None);
        REQUIRE(generate_key_pair(s) == Error::None);
        REQUIRE(generate_key_pair(other) == Error::None);
        CHECK(r.private_key != s.private_key);

        Bytes enc, ct, out;
        REQUIRE(seal_auth(aead, r.public_key, s, info, aad, pt, enc, ct) == Error::None);
        CHECK(enc.size() == 32);
        CHECK(ct.size() == pt.size() + kTagSize);
        REQUIRE(open_auth(aead, enc, r, s.public_key, info, aad, ct, out) == Error::None);
        CHECK(out == pt);

        // Fresh ephemeral key each time.
        Bytes enc2, ct2;
        REQUIRE(seal_auth(aead, r.public_key, s, info, aad, pt, enc2, ct2) == Error::None);
        CHECK(enc2 != enc);
        CHECK(ct2 != ct);

        auto open = [&](std::span<const uint8_t> e, const KeyPair &rk, std::span<const uint8_t> pkS,
                        std::span<const uint8_t> i, std::span<const uint8_t> a,
                        std::span<const uint8_t> c) {
            Bytes p = text("stale");
            Error err = open_auth(aead, e, rk, pkS, i, a, c, p);
            if (err != Error::None) CHECK(p.empty());  // no partial plaintext on failure
            return err;
        };
        CHECK(open(enc, other, s.public_key, info, aad, ct) == Error::Auth);  // wrong recipient
        CHECK(open(enc, r, other.public_key, info, aad, ct) == Error::Auth);  // wrong sender
        CHECK(open(enc, r, r.public_key, info, aad, ct) == Error::Auth);      // base-like misuse
        for (size_t byte : {size_t{0}, size_t{17}, size_t{31}}) {
            for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
                INFO("enc byte " << byte << " bit mask " << int{bit});
                Bytes bad = enc;
                bad[byte] ^= bit;  // 0x80 of byte 31 is masked in X25519: still caught
                CHECK(open(bad, r, s.public_key, info, aad, ct) == Error::Auth);
            }
        }
        Bytes bad_aad = aad;
        bad_aad.back() ^= 1;
        CHECK(open(enc, r, s.public_key, info, bad_aad, ct) == Error::Auth);
        CHECK(open(enc, r, s.public_key, info, {}, ct) == Error::Auth);
        Bytes bad_info = info;
        bad_info[0] ^= 1;
        CHECK(open(enc, r, s.public_key, bad_info, aad, ct) == Error::Auth);
        for (size_t pos : {size_t{0}, pt.size() / 2, pt.size(), ct.size() - 1}) {
            INFO("ct byte " << pos);
            Bytes bad = ct;
            bad[pos] ^= 0x04;
            CHECK(open(enc, r, s.public_key, info, aad, bad) == Error::Auth);
        }
        const std::span<const uint8_t> cts(ct);
        CHECK(open(enc, r, s.public_key, info, aad, cts.first(ct.size() - 1)) == Error::Auth);
        CHECK(open(enc, r, s.public_key, info, aad, cts.first(kTagSize)) == Error::Auth);
        CHECK(open(enc, r, s.public_key, info, aad, cts.first(kTagSize - 1)) == Error::BadInput);
        CHECK(open(enc, r, s.public_key, info, aad, {}) == Error::BadInput);
        Bytes longer = ct;
        longer.push_back(0);
        CHECK(open(enc, r, s.public_key, info, aad, longer) == Error::Auth);

        // Malformed lengths and invalid keys.
        const std::span<const uint8_t> encs(enc);
        CHECK(open(encs.first(31), r, s.public_key, info, aad, ct) == Error::BadInput);
        CHECK(open(enc, r, std::span<const uint8_t>(s.public_key).first(31), info, aad, ct) ==
              Error::BadInput);
        CHECK(open(enc, r, {}, info, aad, ct) == Error::BadInput);
        const Bytes zero(32, 0);
        CHECK(open(zero, r, s.public_key, info, aad, ct) == Error::BadKey);  // low order
        CHECK(open(enc, r, zero, info, aad, ct) == Error::BadKey);
        Bytes e3, c3;
        CHECK(seal_auth(aead, zero, s, info, aad, pt, e3, c3) == Error::BadKey);
        CHECK(seal_auth(aead, encs.first(31), s, info, aad, pt, e3, c3) == Error::BadInput);
        CHECK(e3.empty());

        // Empty plaintext, empty info and aad.
        REQUIRE(seal_auth(aead, r.public_key, s, {}, {}, {}, enc, ct) == Error::None);
        CHECK(ct.size() == kTagSize);
        out = text("stale");
        REQUIRE(open_auth(aead, enc, r, s.public_key, {}, {}, ct, out) == Error::None);
        CHECK(out.empty());
    }
}

TEST_CASE("HPKE multi-message contexts", "[hpke]") {
    KeyPair r;
    REQUIRE(generate_key_pair(r) == Error::None);
    const Bytes info = text("stream");
    for (Aead aead : {Aead::Aes128Gcm, Aead::Aes256Gcm, Aead::ChaCha20Poly1305}) {
        INFO("aead " << static_cast<int>(aead));
        Context s, rc;
        Bytes enc;
        REQUIRE(setup_base_s(aead, r.public_key, info, enc, s) == Error::None);
        REQUIRE(setup_base_r(aead, enc, r, info, rc) == Error::None);
        CHECK(s.key.size() == aead_key_size(aead));

        Bytes c0, c1, p;
        REQUIRE(s.seal({}, text("first"), c0) == Error::None);
        REQUIRE(s.seal({}, text("second"), c1) == Error::None);
        // Out of order: fails and does not advance the receiver.
        CHECK(rc.open({}, c1, p) == Error::Auth);
        CHECK(rc.seq == 0);
        REQUIRE(rc.open({}, c0, p) == Error::None);
        CHECK(p == text("first"));
        REQUIRE(rc.open({}, c1, p) == Error::None);
        CHECK(p == text("second"));
        CHECK(rc.open({}, c1, p) == Error::Auth);  // replay

        Bytes x1, x2;
        REQUIRE(s.export_secret(text("ctx"), 64, x1) == Error::None);
        REQUIRE(rc.export_secret(text("ctx"), 64, x2) == Error::None);
        CHECK(x1.size() == 64);
        CHECK(x1 == x2);
        REQUIRE(s.export_secret({}, 0, x1) == Error::None);
        CHECK(x1.empty());
        CHECK(s.export_secret({}, 255 * 32, x1) == Error::None);
        CHECK(s.export_secret({}, 255 * 32 + 1, x1) == Error::BadInput);

        // The sequence number must never wrap.
        s.seq = UINT64_MAX;
        CHECK(s.seal({}, text("x"), c0) == Error::Crypto);

        // Moving keeps the keys; the moved-to context's old secrets are replaced.
        Context moved = std::move(rc);
        CHECK(rc.key.empty());
        CHECK(moved.key.size() == aead_key_size(aead));
        moved.wipe();
        CHECK(moved.key.empty());
        CHECK(moved.seal({}, text("x"), c0) == Error::BadInput);
    }
}

TEST_CASE("HPKE argument checks", "[hpke]") {
    KeyPair r;
    REQUIRE(generate_key_pair(r) == Error::None);
    Context ctx;
    Bytes enc, out;
    CHECK(setup_base_s(static_cast<Aead>(4), r.public_key, {}, enc, ctx) == Error::BadInput);
    CHECK(setup_base_s(static_cast<Aead>(0), r.public_key, {}, enc, ctx) == Error::BadInput);
    CHECK(ctx.key.empty());  // untouched on failure

    // A default Context has no keys.
    CHECK(ctx.seal({}, {}, out) == Error::BadInput);
    CHECK(ctx.open({}, Bytes(16), out) == Error::BadInput);
    CHECK(ctx.export_secret({}, 32, out) == Error::BadInput);

    // DeriveKeyPair is deterministic and takes any ikm length.
    const Bytes ikm(32, 7);
    CHECK(derive_key_pair(ikm).public_key == derive_key_pair(ikm).public_key);
    CHECK(derive_key_pair({}).public_key != derive_key_pair(ikm).public_key);

    for (Error e :
         {Error::None, Error::BadKey, Error::BadInput, Error::Crypto, Error::Auth, Error::Random}) {
        CHECK(std::string(error_text(e)).size() > 0);
    }
}

// No shared mutable state: concurrent round trips must all succeed. Run alone
// (unit_tests "HPKE concurrent use"), this is also the concurrent first use of mbedTLS's lazily
// built AES tables.
TEST_CASE("HPKE concurrent use", "[hpke]") {
    KeyPair r, s;
    REQUIRE(generate_key_pair(r) == Error::None);
    REQUIRE(generate_key_pair(s) == Error::None);
    constexpr int kThreads = 4, kRounds = 25;
    std::array<int, kThreads> ok{};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            const Aead aead = t % 2 ? Aead::Aes128Gcm : Aead::ChaCha20Poly1305;
            const Bytes pt(100 + t, static_cast<uint8_t>(t));
            for (int i = 0; i < kRounds; ++i) {
                Bytes enc, ct, out;
                if (seal_auth(aead, r.public_key, s, {}, {}, pt, enc, ct) == Error::None &&
                    open_auth(aead, enc, r, s.public_key, {}, {}, ct, out) == Error::None &&
                    out == pt) {
                    ++ok[t];
                }
            }
        });
    }
    for (auto &th : threads) th.join();
    for (int n : ok) CHECK(n == kRounds);
}
