// HKDF-SHA256 (RFC 5869) on mbedtls_hkdf_*, and the RFC 9180 labeled wrappers.
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>

#include <cstring>

#include "crypto/internal.hpp"

namespace sonde::crypto {
namespace {

constexpr size_t kMaxOkm = 255 * detail::kHashSize;
constexpr std::string_view kHpkeVersion = "HPKE-v1";

const mbedtls_md_info_t *sha256() { return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256); }

// mbedTLS treats some NULL pointers specially; an empty span may have a NULL data().
const uint8_t *nonnull(std::span<const uint8_t> s) {
    static constexpr uint8_t kEmpty = 0;
    return s.empty() ? &kEmpty : s.data();
}

void append(Bytes &out, std::span<const uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }
// resize + memcpy rather than insert(): GCC 12 at -O3 reports a false stringop-overflow on
// vector<uint8_t>::insert from a char range.
void append(Bytes &out, std::string_view s) {
    const size_t at = out.size();
    out.resize(at + s.size());
    if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
}

}  // namespace

namespace detail {

Error hkdf_extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                   std::array<uint8_t, kHashSize> &prk) noexcept {
    // An empty salt is HMAC with an empty key, which RFC 5869 defines as HashLen zeros.
    int rc = mbedtls_hkdf_extract(sha256(), nonnull(salt), salt.size(), nonnull(ikm), ikm.size(),
                                  prk.data());
    return rc == 0 ? Error::None : Error::Crypto;
}

Error hkdf_expand(std::span<const uint8_t> prk, std::span<const uint8_t> info, size_t len,
                  Bytes &okm) {
    if (len > kMaxOkm || prk.size() < kHashSize) return Error::BadInput;
    Bytes out(len);
    WipeOnExit wipe_out(out);
    if (len > 0) {  // mbedTLS rejects a NULL okm, which an empty vector may have
        int rc = mbedtls_hkdf_expand(sha256(), prk.data(), prk.size(), nonnull(info), info.size(),
                                     out.data(), out.size());
        if (rc != 0) return Error::Crypto;
    }
    okm.swap(out);  // the previous okm contents get wiped on exit
    return Error::None;
}

Error labeled_extract(std::span<const uint8_t> suite_id, std::span<const uint8_t> salt,
                      std::string_view label, std::span<const uint8_t> ikm, Bytes &prk) {
    // labeled_ikm = "HPKE-v1" || suite_id || label || ikm
    Bytes labeled_ikm;
    WipeOnExit wipe_ikm(labeled_ikm);
    labeled_ikm.reserve(kHpkeVersion.size() + suite_id.size() + label.size() + ikm.size());
    append(labeled_ikm, kHpkeVersion);
    append(labeled_ikm, suite_id);
    append(labeled_ikm, label);
    append(labeled_ikm, ikm);

    std::array<uint8_t, kHashSize> out;
    WipeOnExit wipe_out(out);
    Error e = hkdf_extract(salt, labeled_ikm, out);
    if (e != Error::None) return e;
    wipe(prk);
    prk.assign(out.begin(), out.end());
    return Error::None;
}

Error labeled_expand(std::span<const uint8_t> suite_id, std::span<const uint8_t> prk,
                     std::string_view label, std::span<const uint8_t> info, size_t len,
                     Bytes &out) {
    if (len > kMaxOkm) return Error::BadInput;  // also keeps I2OSP(L, 2) exact
    // labeled_info = I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info
    Bytes labeled_info;
    labeled_info.reserve(2 + kHpkeVersion.size() + suite_id.size() + label.size() + info.size());
    labeled_info.push_back(static_cast<uint8_t>(len >> 8));
    labeled_info.push_back(static_cast<uint8_t>(len));
    append(labeled_info, kHpkeVersion);
    append(labeled_info, suite_id);
    append(labeled_info, label);
    append(labeled_info, info);
    return hkdf_expand(prk, labeled_info, len, out);
}

}  // namespace detail

Error hkdf_sha256(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                  std::span<const uint8_t> info, size_t len, Bytes &okm) noexcept {
    const Error result = detail::no_throw([&] {
        if (len > kMaxOkm) return Error::BadInput;
        std::array<uint8_t, detail::kHashSize> prk;
        detail::WipeOnExit wipe_prk(prk);
        Error e = detail::hkdf_extract(salt, ikm, prk);
        return e != Error::None ? e : detail::hkdf_expand(prk, info, len, okm);
    });
    if (result != Error::None) okm.clear();
    return result;
}

}  // namespace sonde::crypto
