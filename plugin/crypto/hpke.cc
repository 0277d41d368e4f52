// RFC 9180 HPKE: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, modes base and auth.
#include "crypto/hpke.hpp"

#include <algorithm>
#include <limits>
#include <mutex>

#include "crypto/internal.hpp"

namespace sonde::crypto {
namespace {

// suite_id = "KEM" || I2OSP(kem_id, 2), kem_id 0x0020 = DHKEM(X25519, HKDF-SHA256)
constexpr std::array<uint8_t, 5> kKemSuiteId = {'K', 'E', 'M', 0x00, 0x20};

// suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2),
// kdf_id 0x0001 = HKDF-SHA256
std::array<uint8_t, 10> hpke_suite_id(Aead aead) {
    const auto id = static_cast<uint16_t>(aead);
    const auto hi = static_cast<uint8_t>(id >> 8), lo = static_cast<uint8_t>(id);
    return {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, hi, lo};
}

using Key = std::span<const uint8_t, kKeySize>;

Key as_key(std::span<const uint8_t> s) { return s.first<kKeySize>(); }

void append(Bytes &out, std::span<const uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }

// Outputs are cleared on failure, so no stale or partial data is mistaken for a result.
Error clear_on_error(Error e, Bytes &out) {
    if (e != Error::None) out.clear();
    return e;
}

// RFC 9180 §4.1 ExtractAndExpand.
Error extract_and_expand(std::span<const uint8_t> dh, std::span<const uint8_t> kem_context,
                         Bytes &shared_secret) {
    Bytes eae_prk;
    detail::WipeOnExit wipe_prk(eae_prk);
    Error e = detail::labeled_extract(kKemSuiteId, {}, "eae_prk", dh, eae_prk);
    if (e != Error::None) return e;
    return detail::labeled_expand(kKemSuiteId, eae_prk, "shared_secret", kem_context,
                                  detail::kHashSize, shared_secret);
}

// Encap / AuthEncap share everything but the second DH and the sender key in kem_context.
bool equal_ct(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    uint8_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= uint8_t(a[i] ^ b[i]);
    return diff == 0;
}

// DH(skS, pkR) of mode_auth depends only on the two static keys, and a server seals every
// snapshot from the same key to the same console: computing it once saves one of the three
// X25519 multiplications per snapshot. The cache holds what the caller's key pair already
// makes computable, in the same process; it is wiped when replaced.
Error static_dh(const KeyPair &skS, std::span<const uint8_t> pkR,
                std::array<uint8_t, kKeySize> &out) {
    struct Cache {
        std::mutex mu;
        bool valid = false;
        std::array<uint8_t, kKeySize> sk{}, pk{}, dh{};
    };
    static Cache &cache = *new Cache;  // never destroyed: safe at exit
    {
        std::lock_guard lock(cache.mu);
        if (cache.valid && equal_ct(cache.sk, skS.private_key) && equal_ct(cache.pk, pkR)) {
            out = cache.dh;
            return Error::None;
        }
    }
    const Error e = x25519(skS.private_key, as_key(pkR), out);
    if (e != Error::None) return e;
    std::lock_guard lock(cache.mu);
    detail::wipe(cache.dh);
    std::copy(skS.private_key.begin(), skS.private_key.end(), cache.sk.begin());
    std::copy(pkR.begin(), pkR.end(), cache.pk.begin());
    cache.dh = out;
    cache.valid = true;
    return Error::None;
}

Error encap_impl(std::span<const uint8_t> pkR, const KeyPair *skS, std::span<const uint8_t> ikmE,
                 Bytes &shared_secret, Bytes &enc) {
    if (pkR.size() != kKeySize) return Error::BadInput;
    KeyPair eph{};
    detail::WipeOnExit wipe_eph(eph.private_key);
    Error e = ikmE.empty() ? generate_key_pair(eph) : detail::derive_key_pair(ikmE, eph);
    if (e != Error::None) return e;

    // dh = DH(skE, pkR) [|| DH(skS, pkR)]
    std::array<uint8_t, 2 * kKeySize> dh;
    detail::WipeOnExit wipe_dh(dh);
    std::array<uint8_t, kKeySize> part;
    detail::WipeOnExit wipe_part(part);
    if ((e = x25519(eph.private_key, as_key(pkR), part)) != Error::None) return e;
    std::copy(part.begin(), part.end(), dh.begin());
    if (skS) {
        if ((e = static_dh(*skS, pkR, part)) != Error::None) return e;
        std::copy(part.begin(), part.end(), dh.begin() + kKeySize);
    }

    // kem_context = enc || pkRm [|| pkSm]
    Bytes kem_context(eph.public_key.begin(), eph.public_key.end());
    append(kem_context, pkR);
    if (skS) append(kem_context, skS->public_key);

    Bytes secret;
    detail::WipeOnExit wipe_secret(secret);
    e = extract_and_expand(std::span(dh).first(skS ? 2 * kKeySize : kKeySize), kem_context, secret);
    if (e != Error::None) return e;
    shared_secret.swap(secret);
    enc.assign(eph.public_key.begin(), eph.public_key.end());
    return Error::None;
}

// Decap / AuthDecap; pkS empty means base mode.
Error decap_impl(std::span<const uint8_t> enc, const KeyPair &skR, std::span<const uint8_t> pkS,
                 Bytes &shared_secret) {
    if (enc.size() != kKeySize) return Error::BadInput;
    const bool auth = !pkS.empty();

    // dh = DH(skR, pkE) [|| DH(skR, pkS)]
    std::array<uint8_t, 2 * kKeySize> dh;
    detail::WipeOnExit wipe_dh(dh);
    std::array<uint8_t, kKeySize> part;
    detail::WipeOnExit wipe_part(part);
    Error e = x25519(skR.private_key, as_key(enc), part);
    if (e != Error::None) return e;
    std::copy(part.begin(), part.end(), dh.begin());
    if (auth) {
        if ((e = x25519(skR.private_key, as_key(pkS), part)) != Error::None) return e;
        std::copy(part.begin(), part.end(), dh.begin() + kKeySize);
    }

    // kem_context = enc || pkRm [|| pkSm]
    Bytes kem_context(enc.begin(), enc.end());
    append(kem_context, skR.public_key);
    append(kem_context, pkS);

    Bytes secret;
    detail::WipeOnExit wipe_secret(secret);
    e = extract_and_expand(std::span(dh).first(auth ? 2 * kKeySize : kKeySize), kem_context,
                           secret);
    if (e != Error::None) return e;
    shared_secret.swap(secret);
    return Error::None;
}

// Sender and receiver setups end the same way: key schedule into ctx on success only.
template <class Kem>
Error setup(Aead aead, detail::Mode mode, std::span<const uint8_t> info, Context &ctx, Kem kem) {
    return detail::no_throw([&] {
        if (aead_key_size(aead) == 0) return Error::BadInput;
        Bytes shared_secret;
        detail::WipeOnExit wipe_secret(shared_secret);
        Error e = kem(shared_secret);
        if (e != Error::None) return e;
        Context fresh;
        if ((e = detail::key_schedule(aead, mode, shared_secret, info, fresh)) != Error::None) {
            return e;
        }
        ctx = std::move(fresh);
        return Error::None;
    });
}

}  // namespace

const char *error_text(Error e) noexcept {
    switch (e) {
        case Error::None:
            return "no error";
        case Error::BadKey:
            return "invalid X25519 key (low-order point or all-zero shared secret)";
        case Error::BadInput:
            return "invalid input length or size";
        case Error::Crypto:
            return "cryptographic library failure";
        case Error::Auth:
            return "authentication failed (tampered data or wrong key)";
        case Error::Random:
            return "random number source failed";
    }
    return "unknown error";
}

namespace detail {

Error derive_key_pair(std::span<const uint8_t> ikm, KeyPair &out) {
    // dkp_prk = LabeledExtract("", "dkp_prk", ikm); sk = LabeledExpand(dkp_prk, "sk", "", Nsk)
    Bytes dkp_prk, sk;
    WipeOnExit wipe_prk(dkp_prk), wipe_sk(sk);
    Error e = labeled_extract(kKemSuiteId, {}, "dkp_prk", ikm, dkp_prk);
    if (e == Error::None) e = labeled_expand(kKemSuiteId, dkp_prk, "sk", {}, kKeySize, sk);
    if (e != Error::None) return e;
    KeyPair kp;
    WipeOnExit wipe_kp(kp.private_key);
    std::copy(sk.begin(), sk.end(), kp.private_key.begin());
    if ((e = public_from_private(kp.private_key, kp.public_key)) != Error::None) return e;
    out = kp;
    return Error::None;
}

Error encap(std::span<const uint8_t> pkR, std::span<const uint8_t> ikmE, Bytes &shared_secret,
            Bytes &enc) {
    return encap_impl(pkR, nullptr, ikmE, shared_secret, enc);
}

Error auth_encap(std::span<const uint8_t> pkR, const KeyPair &skS, std::span<const uint8_t> ikmE,
                 Bytes &shared_secret, Bytes &enc) {
    return encap_impl(pkR, &skS, ikmE, shared_secret, enc);
}

Error decap(std::span<const uint8_t> enc, const KeyPair &skR, Bytes &shared_secret) {
    return decap_impl(enc, skR, {}, shared_secret);
}

Error auth_decap(std::span<const uint8_t> enc, const KeyPair &skR, std::span<const uint8_t> pkS,
                 Bytes &shared_secret) {
    if (pkS.size() != kKeySize) return Error::BadInput;
    return decap_impl(enc, skR, pkS, shared_secret);
}

Error key_schedule(Aead aead, Mode mode, std::span<const uint8_t> shared_secret,
                   std::span<const uint8_t> info, Context &ctx) {
    const size_t nk = aead_key_size(aead);
    if (nk == 0) return Error::BadInput;
    const auto suite = hpke_suite_id(aead);

    // key_schedule_context = mode || LabeledExtract("", "psk_id_hash", psk_id)
    //                             || LabeledExtract("", "info_hash", info)
    Bytes psk_id_hash, info_hash;
    Error e = labeled_extract(suite, {}, "psk_id_hash", {}, psk_id_hash);
    if (e == Error::None) e = labeled_extract(suite, {}, "info_hash", info, info_hash);
    if (e != Error::None) return e;
    Bytes ksc{static_cast<uint8_t>(mode)};
    append(ksc, psk_id_hash);
    append(ksc, info_hash);

    // secret = LabeledExtract(shared_secret, "secret", psk) with psk = ""
    Bytes secret;
    WipeOnExit wipe_secret(secret);
    if ((e = labeled_extract(suite, shared_secret, "secret", {}, secret)) != Error::None) return e;

    ctx.wipe();
    ctx.aead = aead;
    ctx.seq = 0;
    e = labeled_expand(suite, secret, "key", ksc, nk, ctx.key);
    if (e == Error::None)
        e = labeled_expand(suite, secret, "base_nonce", ksc, kNonceSize, ctx.base_nonce);
    if (e == Error::None)
        e = labeled_expand(suite, secret, "exp", ksc, kHashSize, ctx.exporter_secret);
    if (e != Error::None) ctx.wipe();
    return e;
}

Error compute_nonce(const Context &ctx, std::array<uint8_t, kNonceSize> &nonce) noexcept {
    if (ctx.base_nonce.size() != kNonceSize) return Error::BadInput;
    std::copy(ctx.base_nonce.begin(), ctx.base_nonce.end(), nonce.begin());
    for (size_t i = 0; i < sizeof(ctx.seq); ++i) {
        nonce[kNonceSize - 1 - i] ^= static_cast<uint8_t>(ctx.seq >> (8 * i));
    }
    return Error::None;
}

}  // namespace detail

KeyPair derive_key_pair(std::span<const uint8_t> ikm) noexcept {
    KeyPair kp{};
    if (detail::no_throw([&] { return detail::derive_key_pair(ikm, kp); }) != Error::None) {
        detail::wipe(kp.private_key);
        kp = KeyPair{};  // all zero: x25519 rejects it as a peer key
    }
    return kp;
}

Error generate_key_pair(KeyPair &out) noexcept {
    return detail::no_throw([&] {
        std::array<uint8_t, kKeySize> ikm;  // Nsk bytes of entropy, as §7.1.3 asks
        detail::WipeOnExit wipe_ikm(ikm);
        Error e = detail::fill_random(ikm);
        return e != Error::None ? e : detail::derive_key_pair(ikm, out);
    });
}

// --- Context ------------------------------------------------------------------------------

Context &Context::operator=(Context &&other) noexcept {
    if (this != &other) {
        wipe();
        aead = other.aead;
        key = std::move(other.key);
        base_nonce = std::move(other.base_nonce);
        seq = other.seq;
        exporter_secret = std::move(other.exporter_secret);
    }
    return *this;
}

Context::~Context() { wipe(); }

void Context::wipe() noexcept {
    detail::wipe(key);
    detail::wipe(base_nonce);
    detail::wipe(exporter_secret);
    key.clear();
    base_nonce.clear();
    exporter_secret.clear();
}

Error Context::seal(std::span<const uint8_t> aad, std::span<const uint8_t> pt, Bytes &ct) noexcept {
    // RFC 9180 §5.2: the sequence number must never wrap (nonce reuse).
    if (seq == std::numeric_limits<uint64_t>::max()) return clear_on_error(Error::Crypto, ct);
    std::array<uint8_t, kNonceSize> nonce;
    Error e = detail::compute_nonce(*this, nonce);
    if (e == Error::None) e = aead_seal(aead, key, nonce, aad, pt, ct);
    if (e == Error::None) ++seq;
    return clear_on_error(e, ct);
}

Error Context::open(std::span<const uint8_t> aad, std::span<const uint8_t> ct, Bytes &pt) noexcept {
    if (seq == std::numeric_limits<uint64_t>::max()) return clear_on_error(Error::Crypto, pt);
    std::array<uint8_t, kNonceSize> nonce;
    Error e = detail::compute_nonce(*this, nonce);
    if (e == Error::None) e = aead_open(aead, key, nonce, aad, ct, pt);
    if (e == Error::None) ++seq;
    return clear_on_error(e, pt);
}

Error Context::export_secret(std::span<const uint8_t> exporter_context, size_t len,
                             Bytes &out) const noexcept {
    Error e = detail::no_throw([&] {
        if (exporter_secret.size() != detail::kHashSize) return Error::BadInput;
        // RFC 9180 §5.3: LabeledExpand(exporter_secret, "sec", exporter_context, L)
        return detail::labeled_expand(hpke_suite_id(aead), exporter_secret, "sec", exporter_context,
                                      len, out);
    });
    return clear_on_error(e, out);
}

// --- Setup and single-shot API ----------------------------------------------------------

Error setup_base_s(Aead aead, std::span<const uint8_t> pkR, std::span<const uint8_t> info,
                   Bytes &enc, Context &ctx, std::span<const uint8_t> ephemeral_ikm) noexcept {
    Error e = setup(aead, detail::Mode::Base, info, ctx,
                    [&](Bytes &ss) { return detail::encap(pkR, ephemeral_ikm, ss, enc); });
    return clear_on_error(e, enc);
}

Error setup_base_r(Aead aead, std::span<const uint8_t> enc, const KeyPair &skR,
                   std::span<const uint8_t> info, Context &ctx) noexcept {
    return setup(aead, detail::Mode::Base, info, ctx,
                 [&](Bytes &ss) { return detail::decap(enc, skR, ss); });
}

Error setup_auth_s(Aead aead, std::span<const uint8_t> pkR, const KeyPair &skS,
                   std::span<const uint8_t> info, Bytes &enc, Context &ctx,
                   std::span<const uint8_t> ephemeral_ikm) noexcept {
    Error e = setup(aead, detail::Mode::Auth, info, ctx, [&](Bytes &ss) {
        return detail::auth_encap(pkR, skS, ephemeral_ikm, ss, enc);
    });
    return clear_on_error(e, enc);
}

Error setup_auth_r(Aead aead, std::span<const uint8_t> enc, const KeyPair &skR,
                   std::span<const uint8_t> pkS, std::span<const uint8_t> info,
                   Context &ctx) noexcept {
    return setup(aead, detail::Mode::Auth, info, ctx,
                 [&](Bytes &ss) { return detail::auth_decap(enc, skR, pkS, ss); });
}

Error seal_auth(Aead aead, std::span<const uint8_t> pkR, const KeyPair &skS,
                std::span<const uint8_t> info, std::span<const uint8_t> aad,
                std::span<const uint8_t> pt, Bytes &enc, Bytes &ct) noexcept {
    Context ctx;
    Error e = setup_auth_s(aead, pkR, skS, info, enc, ctx);
    if (e == Error::None) e = ctx.seal(aad, pt, ct);
    clear_on_error(e, ct);
    return clear_on_error(e, enc);
}

Error open_auth(Aead aead, std::span<const uint8_t> enc, const KeyPair &skR,
                std::span<const uint8_t> pkS, std::span<const uint8_t> info,
                std::span<const uint8_t> aad, std::span<const uint8_t> ct, Bytes &pt) noexcept {
    Context ctx;
    Error e = setup_auth_r(aead, enc, skR, pkS, info, ctx);
    if (e == Error::None) e = ctx.open(aad, ct, pt);
    return clear_on_error(e, pt);
}

}  // namespace sonde::crypto
