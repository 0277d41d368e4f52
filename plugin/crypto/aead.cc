// The RFC 9180 AEADs: AES-GCM (mbedtls_gcm_*) and ChaCha20-Poly1305 (mbedtls_chachapoly_*).
#include <mbedtls/aes.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/cipher.h>
#include <mbedtls/gcm.h>

#include "crypto/internal.hpp"

namespace sonde::crypto {
namespace {

// mbedTLS may reject or mis-handle NULL for zero-length input; an empty span may have one.
const uint8_t *nonnull(std::span<const uint8_t> s) {
    static constexpr uint8_t kEmpty = 0;
    return s.empty() ? &kEmpty : s.data();
}

// mbedTLS 2.28 built without MBEDTLS_AES_ROM_TABLES (as Debian builds it) fills its AES tables
// and caches the AES-NI cpuid probe on first use, behind plain unsynchronised flags. Doing that
// first use once, under a C++ function-local static, makes later concurrent use race-free.
void init_aes_once() {
    static const bool done = [] {
        mbedtls_aes_context aes;
        mbedtls_aes_init(&aes);
        static constexpr unsigned char kZeroKey[16] = {};
        (void)mbedtls_aes_setkey_enc(&aes, kZeroKey, 128);
        mbedtls_aes_free(&aes);
        return true;
    }();
    (void)done;
}

struct Gcm {
    mbedtls_gcm_context c;
    Gcm() {
        init_aes_once();
        mbedtls_gcm_init(&c);
    }
    ~Gcm() { mbedtls_gcm_free(&c); }  // zeroizes the key schedule
};
struct ChaChaPoly {
    mbedtls_chachapoly_context c;
    ChaChaPoly() { mbedtls_chachapoly_init(&c); }
    ~ChaChaPoly() { mbedtls_chachapoly_free(&c); }
};

// A failed open is Auth; anything else mbedTLS reports is BadInput (lengths) or Crypto.
Error map_rc(int rc) {
    switch (rc) {
        case 0:
            return Error::None;
        case MBEDTLS_ERR_GCM_AUTH_FAILED:
        case MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED:
            return Error::Auth;
        case MBEDTLS_ERR_GCM_BAD_INPUT:
            return Error::BadInput;
        default:
            return Error::Crypto;
    }
}

Error check_params(Aead aead, std::span<const uint8_t> key, std::span<const uint8_t> nonce) {
    size_t nk = aead_key_size(aead);
    if (nk == 0 || key.size() != nk || nonce.size() != kNonceSize) return Error::BadInput;
    return Error::None;
}

// Writes len bytes of ciphertext to out and the tag to tag.
Error seal_raw(Aead aead, std::span<const uint8_t> key, std::span<const uint8_t> nonce,
               std::span<const uint8_t> aad, std::span<const uint8_t> pt, uint8_t *out,
               uint8_t *tag) {
    if (aead == Aead::ChaCha20Poly1305) {
        ChaChaPoly ctx;
        int rc = mbedtls_chachapoly_setkey(&ctx.c, key.data());
        if (rc == 0) {
            rc = mbedtls_chachapoly_encrypt_and_tag(&ctx.c, pt.size(), nonce.data(), nonnull(aad),
                                                    aad.size(), nonnull(pt), out, tag);
        }
        return map_rc(rc);
    }
    Gcm ctx;
    int rc = mbedtls_gcm_setkey(&ctx.c, MBEDTLS_CIPHER_ID_AES, key.data(),
                                static_cast<unsigned>(key.size() * 8));
    if (rc == 0) {
        rc = mbedtls_gcm_crypt_and_tag(&ctx.c, MBEDTLS_GCM_ENCRYPT, pt.size(), nonce.data(),
                                       nonce.size(), nonnull(aad), aad.size(), nonnull(pt), out,
                                       kTagSize, tag);
    }
    return map_rc(rc);
}

// Both mbedTLS calls compare the tag in constant time and zeroize out on failure.
Error open_raw(Aead aead, std::span<const uint8_t> key, std::span<const uint8_t> nonce,
               std::span<const uint8_t> aad, std::span<const uint8_t> ct, const uint8_t *tag,
               uint8_t *out) {
    if (aead == Aead::ChaCha20Poly1305) {
        ChaChaPoly ctx;
        int rc = mbedtls_chachapoly_setkey(&ctx.c, key.data());
        if (rc == 0) {
            rc = mbedtls_chachapoly_auth_decrypt(&ctx.c, ct.size(), nonce.data(), nonnull(aad),
                                                 aad.size(), tag, nonnull(ct), out);
        }
        return map_rc(rc);
    }
    Gcm ctx;
    int rc = mbedtls_gcm_setkey(&ctx.c, MBEDTLS_CIPHER_ID_AES, key.data(),
                                static_cast<unsigned>(key.size() * 8));
    if (rc == 0) {
        rc = mbedtls_gcm_auth_decrypt(&ctx.c, ct.size(), nonce.data(), nonce.size(), nonnull(aad),
                                      aad.size(), tag, kTagSize, nonnull(ct), out);
    }
    return map_rc(rc);
}

}  // namespace

size_t aead_key_size(Aead aead) noexcept {
    switch (aead) {
        case Aead::Aes128Gcm:
            return 16;
        case Aead::Aes256Gcm:
        case Aead::ChaCha20Poly1305:
            return 32;
    }
    return 0;
}

// Results go to a local buffer first, so the output may alias an input and is only replaced
// on success (it is cleared on failure).
Error aead_seal(Aead aead, std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                std::span<const uint8_t> aad, std::span<const uint8_t> pt,
                Bytes &ct_and_tag) noexcept {
    const Error result = detail::no_throw([&] {
        Error e = check_params(aead, key, nonce);
        if (e != Error::None) return e;
        Bytes out(pt.size() + kTagSize);
        e = seal_raw(aead, key, nonce, aad, pt, out.data(), out.data() + pt.size());
        if (e == Error::None) ct_and_tag.swap(out);
        return e;
    });
    if (result != Error::None) ct_and_tag.clear();
    return result;
}

Error aead_open(Aead aead, std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                std::span<const uint8_t> aad, std::span<const uint8_t> ct_and_tag,
                Bytes &pt) noexcept {
    const Error result = detail::no_throw([&] {
        Error e = check_params(aead, key, nonce);
        if (e != Error::None) return e;
        if (ct_and_tag.size() < kTagSize) return Error::BadInput;
        auto ct = ct_and_tag.first(ct_and_tag.size() - kTagSize);
        Bytes out(ct.size());
        detail::WipeOnExit wipe_out(out);  // after the swap: the caller's old plaintext
        e = open_raw(aead, key, nonce, aad, ct, ct_and_tag.data() + ct.size(), out.data());
        if (e == Error::None) pt.swap(out);
        return e;
    });
    if (result != Error::None) pt.clear();
    return result;
}

}  // namespace sonde::crypto
