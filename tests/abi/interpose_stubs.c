/* The host's "own copies" of zstd, mbedTLS and protobuf for test_linking.cc: a shared library
 * the trace host links, defining functions under the names libsonde.so uses internally (its
 * private, statically linked zstd and mbedTLS; protobuf's runtime is not inside at all). Each
 * one counts its calls and returns a marker the real one never returns. The plugin must never
 * reach them (its copies are hidden and bound inside: -Bsymbolic, --exclude-libs); the host's
 * own calls must. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SONDE_STUB_EXPORT __attribute__((visibility("default")))

enum { kStubMarker = 0x5AFE };
static unsigned long stub_calls;

SONDE_STUB_EXPORT unsigned long sonde_test_stub_calls(void) { return stub_calls; }

/* Called by the host itself, with the real prototypes. */
SONDE_STUB_EXPORT unsigned ZSTD_versionNumber(void) { return ++stub_calls, kStubMarker; }
SONDE_STUB_EXPORT int mbedtls_sha256(const unsigned char *input, size_t len, unsigned char *out,
                                     int is224) {
    (void)input, (void)len, (void)is224;
    memset(out, 0x5A, 32);
    return ++stub_calls, kStubMarker;
}
/* google::protobuf::internal::VersionString[abi:cxx11](int) has a C++ return type: stand in
 * with google::protobuf::internal::LogMessage::Finish(), a plain void member function. */
SONDE_STUB_EXPORT void protobuf_finish(void *self) __asm__(
    "_ZN6google8protobuf8internal10LogMessage6FinishEv");
SONDE_STUB_EXPORT void protobuf_finish(void *self) { (void)self, ++stub_calls; }

/* The rest of what the plugin compresses, hashes and seals with: never called by anyone. */
#define SONDE_STUB(name) \
    SONDE_STUB_EXPORT long name(void) { return ++stub_calls, kStubMarker; }
SONDE_STUB(ZSTD_compress)
SONDE_STUB(ZSTD_compress2)
SONDE_STUB(ZSTD_compressBound)
SONDE_STUB(ZSTD_compressCCtx)
SONDE_STUB(ZSTD_compressStream2)
SONDE_STUB(ZSTD_createCCtx)
SONDE_STUB(ZSTD_freeCCtx)
SONDE_STUB(ZSTD_CCtx_setParameter)
SONDE_STUB(ZSTD_decompress)
SONDE_STUB(ZSTD_isError)
SONDE_STUB(mbedtls_sha256_init)
SONDE_STUB(mbedtls_sha256_starts)
SONDE_STUB(mbedtls_sha256_update)
SONDE_STUB(mbedtls_sha256_finish)
SONDE_STUB(mbedtls_platform_zeroize)
SONDE_STUB(mbedtls_aes_crypt_ecb)
SONDE_STUB(mbedtls_chachapoly_encrypt_and_tag)
SONDE_STUB(mbedtls_gcm_setkey)
SONDE_STUB(mbedtls_gcm_crypt_and_tag)
SONDE_STUB(mbedtls_md_hmac)
SONDE_STUB(mbedtls_hkdf)
SONDE_STUB(mbedtls_ecp_mul)
