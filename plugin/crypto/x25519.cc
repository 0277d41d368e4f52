// X25519 (RFC 7748) on mbedTLS's Curve25519 group, or on the implementation a program
// installed with set_x25519_implementation (the console: OpenSSL's, x25519_openssl.cc).
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>

#include <algorithm>
#include <atomic>

#include "crypto/internal.hpp"

namespace sonde::crypto {
namespace {

// RAII owners for the mbedTLS structures; the *_free calls also zeroize limbs.
struct Group {
    mbedtls_ecp_group g;
    Group() { mbedtls_ecp_group_init(&g); }
    ~Group() { mbedtls_ecp_group_free(&g); }
};
struct Mpi {
    mbedtls_mpi v;
    Mpi() { mbedtls_mpi_init(&v); }
    ~Mpi() { mbedtls_mpi_free(&v); }
};
struct Point {
    mbedtls_ecp_point p;
    Point() { mbedtls_ecp_point_init(&p); }
    ~Point() { mbedtls_ecp_point_free(&p); }
};

// mbedtls_ecp_mul randomises the ladder's projective coordinates (side-channel blinding).
// getrandom needs no shared state, so this stays thread-safe; the flag tells an RNG failure
// apart from other mbedTLS errors.
int blinding_rng(void *failed, unsigned char *out, size_t len) {
    if (detail::fill_random({out, len}) == Error::None) return 0;
    *static_cast<bool *>(failed) = true;
    return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
}

// Constant time: the result may be a secret.
bool all_zero(std::span<const uint8_t> b) {
    uint8_t acc = 0;
    for (uint8_t x : b) acc |= x;
    return acc == 0;
}

std::atomic<X25519Implementation> g_implementation{nullptr};

Error mbedtls_x25519(std::span<const uint8_t, 32> scalar, std::span<const uint8_t, 32> u,
                     std::array<uint8_t, 32> &out) noexcept;

}  // namespace

void set_x25519_implementation(X25519Implementation f) noexcept {
    g_implementation.store(f, std::memory_order_release);
}

Error x25519(std::span<const uint8_t, 32> scalar, std::span<const uint8_t, 32> u,
             std::array<uint8_t, 32> &out) noexcept {
    const X25519Implementation f = g_implementation.load(std::memory_order_acquire);
    const Error e = f ? f(scalar, u, out) : mbedtls_x25519(scalar, u, out);
    if (e != Error::None) {
        detail::wipe(out);
        return e;
    }
    // RFC 9180 §7.1.4: abort on an all-zero DH output (mbedTLS's low-order check should
    // already have caught it; this relies on neither implementation's own check).
    if (all_zero(out)) {
        detail::wipe(out);
        return Error::BadKey;
    }
    return Error::None;
}

namespace {

Error mbedtls_x25519(std::span<const uint8_t, 32> scalar, std::span<const uint8_t, 32> u,
                     std::array<uint8_t, 32> &out) noexcept {
    // RFC 7748 §5: clamp the scalar (mbedTLS refuses unclamped Montgomery keys) and mask
    // the top bit of u.
    std::array<uint8_t, 32> k;
    detail::WipeOnExit wipe_k(k);
    std::copy(scalar.begin(), scalar.end(), k.begin());
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    std::array<uint8_t, 32> x;
    std::copy(u.begin(), u.end(), x.begin());
    x[31] &= 127;

    Group grp;
    Mpi d;
    Point P, R;
    if (mbedtls_ecp_group_load(&grp.g, MBEDTLS_ECP_DP_CURVE25519) != 0 ||
        mbedtls_mpi_read_binary_le(&d.v, k.data(), k.size()) != 0 ||
        mbedtls_ecp_point_read_binary(&grp.g, &P.p, x.data(), x.size()) != 0) {
        return Error::Crypto;
    }
    bool rng_failed = false;
    int rc = mbedtls_ecp_mul(&grp.g, &R.p, &d.v, &P.p, blinding_rng, &rng_failed);
    if (rc == MBEDTLS_ERR_ECP_INVALID_KEY) return Error::BadKey;  // low-order u
    if (rng_failed) return Error::Random;
    if (rc != 0) return Error::Crypto;
    if (mbedtls_mpi_write_binary_le(&R.p.X, out.data(), out.size()) != 0) return Error::Crypto;
    return Error::None;
}

}  // namespace

Error public_from_private(std::span<const uint8_t, 32> sk, std::array<uint8_t, 32> &pk) noexcept {
    static constexpr std::array<uint8_t, 32> kBasePoint = {9};
    return x25519(sk, kBasePoint, pk);
}

}  // namespace sonde::crypto
