// The .sonde envelope: round trips, and every way a file must be refused, each for its reason.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "catalog_layout.hpp"
#include "fixtures.hpp"
#include "snapshot/wire.hpp"

using namespace fixtures;
using sonde::crypto::Aead;

namespace {

struct Opened {
    OpenError error;
    std::string text;
    v1::Snapshot snapshot;
    Header header;
};

Opened open(const Bytes &file, const OpenParams &params = open_params()) {
    Opened o;
    o.error = open_snapshot(file, params, o.snapshot, o.header, &o.text);
    // A refused file never leaves a partly filled snapshot behind.
    if (o.error != OpenError::None) CHECK(o.snapshot.ByteSizeLong() == 0);
    return o;
}

// Refused for `why`, with a message that names the reason.
void check_refused(const Bytes &file, OpenError why, const OpenParams &params = open_params()) {
    const Opened o = open(file, params);
    INFO("message: " << o.text);
    CHECK(o.error == why);
    CHECK(o.text.rfind(open_error_name(why), 0) == 0);
}

// A file sealed by hand around an arbitrary header: for the cases seal_* refuses to produce.
Bytes seal_by_hand(const Header &h, const sonde::crypto::KeyPair &sender,
                   const PublicKey &recipient, const Bytes &payload) {
    const auto aad = encode_header(h);
    Bytes enc, ct;
    REQUIRE(sonde::crypto::seal_auth(Aead(h.aead), recipient, sender, hpke_info(h.base()), aad,
                                     payload, enc, ct) == sonde::crypto::Error::None);
    // Copied into a file sized once: vector::insert after the 64-byte header trips GCC 12's
    // -Warray-bounds false positive inside libstdc++ at -O3.
    Bytes file(aad.size() + enc.size() + ct.size());
    auto out = std::copy(aad.begin(), aad.end(), file.begin());
    out = std::copy(enc.begin(), enc.end(), out);
    std::copy(ct.begin(), ct.end(), out);
    return file;
}

Header header_for(const Snapshot &s, const Bytes &frame, uint32_t uncompressed) {
    Header h;
    h.recipient = key_id(keys().console.public_key);
    h.sender = key_id(keys().school.public_key);
    std::copy(s.base_id.begin(), s.base_id.end(), h.base_id.begin());
    h.sequence = s.sequence;
    h.created_unix = s.created_unix;
    h.compressed_size = uint32_t(frame.size());
    h.uncompressed_size = uncompressed;
    return h;
}

Bytes seal_frame(const Snapshot &s, const Bytes &frame, uint32_t declared) {
    Bytes file;
    std::string error;
    INFO(error);
    REQUIRE(seal_compressed(frame, declared, seal_params(s), file, &error));
    return file;
}

}  // namespace

TEST_CASE("round trip with both AEADs", "[envelope]") {
    const Snapshot s = realistic_snapshot();
    Bytes expected;
    encode(s, expected);
    for (const Aead aead : {Aead::Aes256Gcm, Aead::ChaCha20Poly1305}) {
        INFO("aead " << int(aead));
        const Bytes file = seal(s, aead);
        const Opened o = open(file);
        INFO(o.text);
        REQUIRE(o.error == OpenError::None);
        CHECK(o.snapshot.SerializeAsString() == std::string(expected.begin(), expected.end()));
        CHECK(o.header.aead == uint16_t(aead));
        CHECK(o.header.kem == 0x0020);
        CHECK(o.header.kdf == 0x0001);
        CHECK(o.header.base() == kBase);
        CHECK(o.header.sequence == s.sequence);
        CHECK(o.header.created_unix == s.created_unix);
        CHECK(o.header.recipient == key_id(keys().console.public_key));
        CHECK(o.header.sender == key_id(keys().school.public_key));
        CHECK(o.header.uncompressed_size == expected.size());
        CHECK(file.size() == kOverhead + o.header.compressed_size);
        CHECK(std::equal(kMagic.begin(), kMagic.end(), file.begin()));
    }
}

TEST_CASE("sealing is randomized unless an ephemeral key is given", "[envelope]") {
    const Snapshot s = small_snapshot();
    CHECK(seal(s) != seal(s));
    SealParams p = seal_params(s);
    p.ephemeral_ikm = Bytes(32, 7);
    Bytes a, b;
    REQUIRE(seal_snapshot(s, p, a, nullptr));
    REQUIRE(seal_snapshot(s, p, b, nullptr));
    CHECK(a == b);
    CHECK(open(a).error == OpenError::None);
}

TEST_CASE("the header reads without keys", "[envelope]") {
    const Bytes file = seal(small_snapshot(77));
    Header h;
    REQUIRE(parse_header(file, h, nullptr) == OpenError::None);
    CHECK(h.base() == kBase);
    CHECK(h.sequence == 77);
}

TEST_CASE("sealing refuses inconsistent parameters", "[envelope]") {
    const Snapshot s = small_snapshot();
    Bytes file;
    std::string error;
    SealParams p = seal_params(s);
    p.base_id = "031001A";
    CHECK_FALSE(seal_snapshot(s, p, file, &error));
    CHECK(file.empty());
    p = seal_params(s);
    p.sequence = s.sequence + 1;
    CHECK_FALSE(seal_snapshot(s, p, file, &error));
    p = seal_params(s);
    p.aead = Aead::Aes128Gcm;
    CHECK_FALSE(seal_snapshot(s, p, file, &error));
    CHECK(file.empty());
}

TEST_CASE("refused: bad magic, version, suite, base id", "[envelope]") {
    const Bytes good = seal(small_snapshot());
    Bytes f = good;
    f[0] = 'X';
    check_refused(f, OpenError::BadMagic);
    f = good;
    f[8] = 2;
    check_refused(f, OpenError::UnsupportedVersion);
    f = good;
    f[10] = 0x21;  // kem
    check_refused(f, OpenError::UnsupportedSuite);
    f = good;
    f[12] = 0x02;  // kdf HKDF-SHA384
    check_refused(f, OpenError::UnsupportedSuite);
    for (uint8_t aead : {0x01, 0x04, 0xFF}) {  // AES-128-GCM is RFC 9180 but not ours
        f = good;
        f[14] = aead;
        check_refused(f, OpenError::UnsupportedSuite);
    }
    f = good;
    f[39] = 'a';  // UAI letter must be a capital
    check_refused(f, OpenError::BadBaseId);
}

TEST_CASE("refused: truncated at every length, or with trailing bytes", "[envelope]") {
    const Bytes good = seal(small_snapshot());
    REQUIRE(good.size() < 400);
    for (size_t n = 0; n < good.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        check_refused(Bytes(good.begin(), good.begin() + std::ptrdiff_t(n)), OpenError::Truncated);
    }
    Bytes longer = good;
    longer.push_back(0);
    check_refused(longer, OpenError::TrailingBytes);
}

TEST_CASE("refused: any byte of the header changed", "[envelope]") {
    const Bytes good = seal(small_snapshot());
    std::set<OpenError> reasons;
    for (size_t i = 0; i < kHeaderSize; ++i)
        for (uint8_t mask : {0x01, 0x80, 0xFF}) {
            Bytes f = good;
            f[i] ^= mask;
            const Opened o = open(f);
            INFO("byte " << i << " ^ " << int(mask) << ": " << o.text);
            CHECK(o.error != OpenError::None);
            reasons.insert(o.error);
            // Sequence and time are only protected by the AEAD: the associated data must be the
            // header.
            if (i >= 40 && i < 56) CHECK(o.error == OpenError::Authentication);
        }
    CHECK(reasons.count(OpenError::Authentication));  // the header is the AAD
    CHECK(reasons.count(OpenError::WrongRecipient));
    CHECK(reasons.count(OpenError::UnknownSender));
    CHECK(reasons.count(OpenError::SenderNotForBase));  // another UAI in the header
}

TEST_CASE("refused: any change to enc, ciphertext or tag", "[envelope]") {
    const Bytes good = seal(realistic_snapshot());
    std::vector<size_t> positions;
    for (size_t i = kHeaderSize; i < kHeaderSize + kEncSize; ++i) positions.push_back(i);
    for (size_t i = kHeaderSize + kEncSize; i < good.size(); i += 61) positions.push_back(i);
    for (size_t i = good.size() - 16; i < good.size(); ++i) positions.push_back(i);
    for (size_t i : positions) {
        Bytes f = good;
        f[i] ^= 0x01;
        INFO("byte " << i);
        check_refused(f, OpenError::Authentication);
    }
}

TEST_CASE("refused: wrong recipient, unknown or mismatched sender", "[envelope]") {
    const Snapshot s = small_snapshot();

    SECTION("sealed to another console") {
        SealParams p = seal_params(s);
        p.recipient_public = keys().stranger.public_key;
        Bytes f;
        REQUIRE(seal_snapshot(s, p, f, nullptr));
        check_refused(f, OpenError::WrongRecipient);
        // Rewriting the recipient id does not help: the header is authenticated.
        const KeyId ours = key_id(keys().console.public_key);
        std::copy(ours.begin(), ours.end(), f.begin() + 16);
        check_refused(f, OpenError::Authentication);
    }
    SECTION("sealed by a key the console does not trust") {
        SealParams p = seal_params(s);
        p.sender = keys().stranger;
        Bytes f;
        REQUIRE(seal_snapshot(s, p, f, nullptr));
        check_refused(f, OpenError::UnknownSender);
    }
    SECTION("header names the trusted school, but another key sealed it (mode_auth)") {
        Bytes bytes;
        encode(s, bytes);
        const Bytes frame = zstd_frame(bytes);
        const Header h = header_for(s, frame, uint32_t(bytes.size()));  // sender id: the school's
        const Bytes f = seal_by_hand(h, keys().stranger, keys().console.public_key, frame);
        check_refused(f, OpenError::Authentication);
        // Control: the same construction with the school's own key opens.
        CHECK(open(seal_by_hand(h, keys().school, keys().console.public_key, frame)).error ==
              OpenError::None);
    }
    SECTION("a trusted entry filed under another key's id") {
        OpenParams p = open_params();
        p.trusted_senders[key_id(keys().school.public_key)] = keys().stranger.public_key;
        check_refused(seal(s), OpenError::BadTrustedKey, p);
    }
}

TEST_CASE("refused: a key registered for one base sealing another base's file", "[envelope]") {
    // Two servers: the school's key is registered for kBase, the stranger's for its own base.
    constexpr const char *kOtherBase = "0310002B";
    OpenParams p = open_params();
    trust_sender(p, keys().stranger.public_key, kOtherBase);

    // The stranger's server forges a file of kBase, sealed (validly) with its own key.
    const Snapshot forged = small_snapshot();
    SealParams seal_forged = seal_params(forged);
    seal_forged.sender = keys().stranger;
    Bytes f;
    REQUIRE(seal_snapshot(forged, seal_forged, f, nullptr));
    check_refused(f, OpenError::SenderNotForBase, p);
    // Refused before any cryptography: the same header on a garbage body gets the same answer.
    Bytes junk = f;
    std::fill(junk.begin() + kHeaderSize, junk.end(), uint8_t{0x5a});
    check_refused(junk, OpenError::SenderNotForBase, p);

    // Each server's own files open.
    Snapshot own = small_snapshot();
    own.base_id = kOtherBase;
    SealParams seal_own = seal_params(own);
    seal_own.sender = keys().stranger;
    REQUIRE(seal_snapshot(own, seal_own, f, nullptr));
    CHECK(open(f, p).error == OpenError::None);
    CHECK(open(seal(small_snapshot()), p).error == OpenError::None);

    // A key trusted for no base opens nothing, and one key may serve several bases.
    OpenParams none = open_params();
    none.trusted_senders[key_id(keys().stranger.public_key)] = keys().stranger.public_key;
    check_refused(f, OpenError::SenderNotForBase, none);
    OpenParams both = open_params();
    trust_sender(both, keys().school.public_key, kOtherBase);
    Snapshot farm = small_snapshot();
    farm.base_id = kOtherBase;
    CHECK(open(seal(farm), both).error == OpenError::None);
    CHECK(open(seal(farm)).error == OpenError::SenderNotForBase);
}

TEST_CASE("refused: replayed sequence, when replay protection is on", "[envelope]") {
    const Bytes f = seal(small_snapshot(42));
    std::map<std::string, uint64_t> seen{{kBase, 42}, {"0999999Z", 1000}};
    OpenParams p = open_params();
    p.last_sequence_seen = &seen;
    check_refused(f, OpenError::Replay, p);
    seen[kBase] = 100;
    check_refused(f, OpenError::Replay, p);
    seen[kBase] = 41;
    CHECK(open(f, p).error == OpenError::None);
    seen.erase(kBase);  // first snapshot of the base
    CHECK(open(f, p).error == OpenError::None);
    CHECK(open(f).error == OpenError::None);  // off: opens again
}

TEST_CASE("refused: decompression bombs and size lies", "[envelope]") {
    const Snapshot s = small_snapshot();
    const Bytes zeros(5u << 20, 0);  // 5 MiB > the 4 MiB bound, compresses to ~200 bytes

    SECTION("header declares more than the bound") {
        const Bytes frame = zstd_frame(zeros);
        REQUIRE(frame.size() < 1024);
        check_refused(seal_frame(s, frame, uint32_t(zeros.size())), OpenError::TooLarge);
    }
    SECTION("frame declares more than the bound, header lies small") {
        check_refused(seal_frame(s, zstd_frame(zeros), 1000), OpenError::TooLarge);
    }
    SECTION("frame without content size expands beyond the declared size") {
        const Bytes frame = zstd_frame(zeros, false);
        check_refused(seal_frame(s, frame, 1000), OpenError::TooLarge);
        check_refused(seal_frame(s, frame, uint32_t(kDefaultMaxUncompressed)), OpenError::TooLarge);
    }
    SECTION("a lower bound applies to real snapshots too") {
        OpenParams p = open_params();
        p.max_uncompressed = 1024;
        check_refused(seal(realistic_snapshot()), OpenError::TooLarge, p);
    }
    SECTION("declared and actual sizes disagree") {
        Bytes bytes;
        encode(s, bytes);
        check_refused(seal_frame(s, zstd_frame(bytes), uint32_t(bytes.size() - 1)),
                      OpenError::SizeMismatch);
        check_refused(seal_frame(s, zstd_frame(bytes, false), uint32_t(bytes.size() + 10)),
                      OpenError::SizeMismatch);
    }
    SECTION("not one zstd frame") {
        Bytes bytes;
        encode(s, bytes);
        check_refused(seal_frame(s, bytes, uint32_t(bytes.size())), OpenError::Decompression);
        Bytes two = zstd_frame(bytes, false);
        const Bytes again = two;
        two.insert(two.end(), again.begin(), again.end());
        check_refused(seal_frame(s, two, uint32_t(bytes.size())), OpenError::Decompression);
        Bytes cut = zstd_frame(bytes);
        cut.pop_back();
        check_refused(seal_frame(s, cut, uint32_t(bytes.size())), OpenError::Decompression);
    }
}

TEST_CASE("refused: garbage payload, another schema, payload disagreeing with header",
          "[envelope]") {
    const Snapshot s = small_snapshot();
    SECTION("garbage") {
        const Bytes garbage{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
        check_refused(seal_frame(s, zstd_frame(garbage), uint32_t(garbage.size())),
                      OpenError::BadPayload);
        const Bytes truncated_field{0x1A, 0x20, 'x'};  // base_id of length 32, one byte given
        check_refused(seal_frame(s, zstd_frame(truncated_field), 3), OpenError::BadPayload);
    }
    SECTION("parses, but is not a snapshot of ours") {
        const Bytes unknown_fields{0xA0, 0x06, 0x01};  // field 100, varint 1: no schema hash
        check_refused(seal_frame(s, zstd_frame(unknown_fields), 3), OpenError::SchemaMismatch);
    }
    SECTION("another catalogue") {
        Snapshot other = s;
        other.schema_hash ^= 1;
        other.catalog_version = "2099.1";
        const Opened o = open(seal(other));
        CHECK(o.error == OpenError::SchemaMismatch);
        char ours[24], theirs[24];
        std::snprintf(ours, sizeof ours, "0x%016llX",
                      (unsigned long long)sonde::catalog::kSchemaHash);
        std::snprintf(theirs, sizeof theirs, "0x%016llX", (unsigned long long)other.schema_hash);
        CHECK(o.text.find(ours) != std::string::npos);
        CHECK(o.text.find(theirs) != std::string::npos);
        CHECK(o.text.find("2099.1") != std::string::npos);
    }
    SECTION("payload names another sequence, base or time than the header") {
        for (int field = 0; field < 3; ++field) {
            Snapshot inner = s;
            if (field == 0) inner.sequence += 1;
            if (field == 1) inner.base_id = "0310002B";
            if (field == 2) inner.created_unix += 1;
            Bytes bytes, file;
            encode(inner, bytes);
            REQUIRE(seal_snapshot(bytes, seal_params(s), file, nullptr));
            check_refused(file, OpenError::HeaderMismatch);
        }
    }
}

TEST_CASE("the receipt: the sealer's and the opener's agree, and nobody else can make it",
          "[envelope][receipt]") {
    const Snapshot s = small_snapshot(12);
    Bytes file;
    Receipt sealed{}, opened{};
    REQUIRE(seal_snapshot(s, seal_params(s), file, nullptr, &sealed));
    OpenParams params = open_params();
    params.receipt = &opened;
    REQUIRE(open(file, params).error == OpenError::None);
    CHECK(opened == sealed);
    CHECK(sealed != Receipt{});

    // It is RFC 9180 §5.3 Export of the file's context with the label "sonde receipt v1",
    // recomputed here from the primitives: the recipient's context over the file's enc.
    sonde::crypto::Context ctx;
    const std::span<const uint8_t> enc(file.data() + kHeaderSize, kEncSize);
    REQUIRE(sonde::crypto::setup_auth_r(Aead::ChaCha20Poly1305, enc, keys().console,
                                        keys().school.public_key, hpke_info(kBase),
                                        ctx) == sonde::crypto::Error::None);
    const std::string label = "sonde receipt v1";
    Bytes exported;
    REQUIRE(ctx.export_secret({reinterpret_cast<const uint8_t *>(label.data()), label.size()}, 32,
                              exported) == sonde::crypto::Error::None);
    CHECK(Bytes(sealed.begin(), sealed.end()) == exported);

    // Each file has its own: the same snapshot sealed again gives another receipt.
    Bytes again;
    Receipt other{};
    REQUIRE(seal_snapshot(s, seal_params(s), again, nullptr, &other));
    CHECK(other != sealed);

    // A file that does not open yields no receipt.
    Bytes tampered = file;
    tampered.back() ^= 1;
    Receipt none{};
    params.receipt = &none;
    CHECK(open(tampered, params).error == OpenError::Authentication);
    CHECK(none == Receipt{});
}
