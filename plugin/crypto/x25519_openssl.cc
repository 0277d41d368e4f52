// X25519 through OpenSSL's EVP interface (OpenSSL 3). OpenSSL clamps the scalar and ignores
// u's top bit itself (RFC 7748 §5), and fails a derivation whose result is all zero, which is
// how a low-order u shows; x25519() checks the all-zero output again.
#include "crypto/x25519_openssl.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

namespace sonde::crypto {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY *p) const noexcept { EVP_PKEY_free(p); }
};
struct CtxFree {
    void operator()(EVP_PKEY_CTX *c) const noexcept { EVP_PKEY_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Ctx = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;

// Making an EVP_PKEY of a private key also computes its public key, a second multiplication.
// A program opens many files with the same one or two private keys, so each thread keeps the
// last ones it used.
class OwnKeys {
  public:
    EVP_PKEY *get(std::span<const uint8_t, 32> scalar) noexcept {
        for (Entry &e : entries_) {
            if (e.key && CRYPTO_memcmp(e.scalar.data(), scalar.data(), 32) == 0) return e.key.get();
        }
        Pkey key(
            EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), scalar.size()));
        if (!key) return nullptr;
        Entry &e = entries_[next_++ % entries_.size()];
        OPENSSL_cleanse(e.scalar.data(), e.scalar.size());
        std::copy(scalar.begin(), scalar.end(), e.scalar.begin());
        e.key = std::move(key);
        return e.key.get();
    }
    ~OwnKeys() {
        for (Entry &e : entries_) OPENSSL_cleanse(e.scalar.data(), e.scalar.size());
    }

  private:
    struct Entry {
        std::array<uint8_t, 32> scalar{};
        Pkey key;
    };
    std::array<Entry, 4> entries_;
    size_t next_ = 0;
};

thread_local OwnKeys t_own_keys;

}  // namespace

Error openssl_x25519(std::span<const uint8_t, 32> scalar, std::span<const uint8_t, 32> u,
                     std::array<uint8_t, 32> &out) noexcept {
    EVP_PKEY *own = t_own_keys.get(scalar);
    const Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, u.data(), u.size()));
    if (!own || !peer) return Error::Crypto;
    const Ctx ctx(EVP_PKEY_CTX_new(own, nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return Error::Crypto;
    // No validation of the peer here: RFC 7748 accepts any u; the result is checked instead.
    if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 0) != 1) return Error::Crypto;
    size_t len = out.size();
    if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1) return Error::BadKey;
    if (len != out.size()) return Error::Crypto;
    return Error::None;
}

}  // namespace sonde::crypto
