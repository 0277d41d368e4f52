#include "snapshot/envelope.hpp"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>

#include "snapshot/wire.hpp"

namespace sonde::snapshot {
namespace {

crypto::Error export_receipt(const crypto::Context &ctx, Receipt &out) {
    const std::string_view label(kReceiptLabel);
    Bytes secret;
    const crypto::Error e = ctx.export_secret(
        {reinterpret_cast<const uint8_t *>(label.data()), label.size()}, out.size(), secret);
    if (e == crypto::Error::None) std::memcpy(out.data(), secret.data(), out.size());
    return e;
}

// Little-endian fields at fixed offsets (see the table in envelope.hpp).
enum Offset : size_t {
    kOffMagic = 0,
    kOffVersion = 8,
    kOffKem = 10,
    kOffKdf = 12,
    kOffAead = 14,
    kOffRecipient = 16,
    kOffSender = 24,
    kOffBase = 32,
    kOffSequence = 40,
    kOffCreated = 48,
    kOffCompressed = 56,
    kOffUncompressed = 60,
};
static_assert(kOffUncompressed + 4 == kHeaderSize);

template <class T>
void put(uint8_t *at, T v) {
    for (size_t i = 0; i < sizeof(T); ++i)
        at[i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i));
}
template <class T>
T get(const uint8_t *at) {
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= uint64_t{at[i]} << (8 * i);
    return static_cast<T>(v);
}

OpenError refuse(OpenError why, std::string *error, const std::string &text) {
    if (error) *error = std::string(open_error_name(why)) + ": " + text;
    return why;
}

bool fail(std::string *error, const std::string &text) {
    if (error) *error = text;
    return false;
}

bool known_aead(uint16_t id) {
    return id == uint16_t(crypto::Aead::Aes256Gcm) ||
           id == uint16_t(crypto::Aead::ChaCha20Poly1305);
}

std::string hex_id(const KeyId &id) { return to_hex(id); }

struct ZstdDctx {
    ZSTD_DCtx *p = ZSTD_createDCtx();
    ~ZstdDctx() { ZSTD_freeDCtx(p); }
};
struct ZstdCctx {
    ZSTD_CCtx *p = ZSTD_createCCtx();
    ~ZstdCctx() { ZSTD_freeCCtx(p); }
};

// Never trusts a size it has not produced: the output buffer is the declared size (already
// bounded), so a frame that expands further stops with dstSize_tooSmall.
OpenError decompress(std::span<const uint8_t> frame, const Header &h, size_t max_uncompressed,
                     Bytes &out, std::string *error) {
    const unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (content == ZSTD_CONTENTSIZE_ERROR)
        return refuse(OpenError::Decompression, error, "payload is not a zstd frame");
    if (content != ZSTD_CONTENTSIZE_UNKNOWN) {
        if (content > max_uncompressed)
            return refuse(OpenError::TooLarge, error,
                          "zstd frame declares " + std::to_string(content) + " bytes, bound is " +
                              std::to_string(max_uncompressed));
        if (content != h.uncompressed_size)
            return refuse(OpenError::SizeMismatch, error,
                          "zstd frame declares " + std::to_string(content) + " bytes, header " +
                              std::to_string(h.uncompressed_size));
    }
    // One frame and nothing after it: ZSTD_decompressDCtx would otherwise go on with the
    // next frame (or skip a skippable one).
    const size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
    if (ZSTD_isError(frame_size) || frame_size != frame.size())
        return refuse(OpenError::Decompression, error, "payload is not exactly one zstd frame");
    ZstdDctx dctx;
    if (!dctx.p) return refuse(OpenError::Internal, error, "out of memory (zstd context)");
    out.resize(h.uncompressed_size);
    const size_t got =
        ZSTD_decompressDCtx(dctx.p, out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(got)) {
        const bool overflow = ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall;
        out.clear();
        if (overflow)
            return refuse(OpenError::TooLarge, error,
                          "zstd frame expands beyond the declared " +
                              std::to_string(h.uncompressed_size) + " bytes");
        return refuse(OpenError::Decompression, error,
                      std::string("zstd: ") + ZSTD_getErrorName(got));
    }
    if (got != h.uncompressed_size) {
        out.clear();
        return refuse(OpenError::SizeMismatch, error,
                      "decompressed " + std::to_string(got) + " bytes, header declares " +
                          std::to_string(h.uncompressed_size));
    }
    return OpenError::None;
}

OpenError open_checked(std::span<const uint8_t> file, const OpenParams &p, Bytes &out, Header &h,
                       std::string *error) {
    if (file.size() > max_sealed_size(p.max_uncompressed)) {
        (void)parse_header(file, h, nullptr);  // for the caller's logs
        return refuse(OpenError::TooLarge, error,
                      std::to_string(file.size()) +
                          " bytes, larger than any file within the bound " +
                          std::to_string(p.max_uncompressed));
    }
    if (const OpenError e = parse_header(file, h, error); e != OpenError::None) return e;
    // Cheap bounds before any cryptography.
    if (h.uncompressed_size > p.max_uncompressed)
        return refuse(OpenError::TooLarge, error,
                      "declared uncompressed size " + std::to_string(h.uncompressed_size) +
                          " exceeds the bound " + std::to_string(p.max_uncompressed));
    if (h.compressed_size > ZSTD_compressBound(p.max_uncompressed))
        return refuse(OpenError::TooLarge, error,
                      "compressed size " + std::to_string(h.compressed_size) +
                          " cannot decompress within the bound " +
                          std::to_string(p.max_uncompressed));

    const KeyId own = key_id(p.recipient.public_key);
    if (h.recipient != own)
        return refuse(
            OpenError::WrongRecipient, error,
            "sealed to key " + hex_id(h.recipient) + ", this console's key is " + hex_id(own));
    const auto sender = p.trusted_senders.find(h.sender);
    if (sender == p.trusted_senders.end())
        return refuse(OpenError::UnknownSender, error,
                      "sender key " + hex_id(h.sender) + " is not trusted");
    if (key_id(sender->second) != h.sender)
        return refuse(OpenError::BadTrustedKey, error,
                      "trusted key listed as " + hex_id(h.sender) + " has id " +
                          hex_id(key_id(sender->second)));
    // The header is not authenticated yet, but a file that names a base its key is not
    // registered for is refused whatever it holds: a key only ever seals for its own bases.
    const auto bases = p.sender_bases.find(h.sender);
    if (bases == p.sender_bases.end() || !bases->second.contains(h.base()))
        return refuse(OpenError::SenderNotForBase, error,
                      "sender key " + hex_id(h.sender) + " is not registered for base " + h.base());

    const std::array<uint8_t, kHeaderSize> aad = encode_header(h);
    const std::span<const uint8_t> enc = file.subspan(kHeaderSize, kEncSize);
    const std::span<const uint8_t> ct = file.subspan(kHeaderSize + kEncSize);
    Bytes frame;
    crypto::Context ctx;
    crypto::Error e = crypto::setup_auth_r(crypto::Aead(h.aead), enc, p.recipient, sender->second,
                                           hpke_info(h.base()), ctx);
    if (e == crypto::Error::None) e = ctx.open(aad, ct, frame);
    if (e == crypto::Error::None && p.receipt) e = export_receipt(ctx, *p.receipt);
    if (e == crypto::Error::Auth || e == crypto::Error::BadKey)
        return refuse(OpenError::Authentication, error,
                      "not sealed by sender key " + hex_id(h.sender) + " for key " + hex_id(own) +
                          ", or tampered (header or body)");
    if (e != crypto::Error::None) return refuse(OpenError::Internal, error, crypto::error_text(e));

    // Only now is the header authentic, so only now does its sequence mean anything.
    if (p.last_sequence_seen) {
        const auto last = p.last_sequence_seen->find(h.base());
        if (last != p.last_sequence_seen->end() && h.sequence <= last->second)
            return refuse(OpenError::Replay, error,
                          "sequence " + std::to_string(h.sequence) + " of base " + h.base() +
                              " is not above the last one seen, " + std::to_string(last->second));
    }
    return decompress(frame, h, p.max_uncompressed, out, error);
}

}  // namespace

const char *open_error_name(OpenError e) noexcept {
    switch (e) {
        case OpenError::None:
            return "ok";
        case OpenError::Truncated:
            return "truncated";
        case OpenError::TrailingBytes:
            return "trailing bytes";
        case OpenError::BadMagic:
            return "bad magic";
        case OpenError::UnsupportedVersion:
            return "unsupported version";
        case OpenError::UnsupportedSuite:
            return "unsupported suite";
        case OpenError::BadBaseId:
            return "bad base id";
        case OpenError::WrongRecipient:
            return "wrong recipient";
        case OpenError::UnknownSender:
            return "unknown sender";
        case OpenError::BadTrustedKey:
            return "bad trusted key";
        case OpenError::TooLarge:
            return "too large";
        case OpenError::Authentication:
            return "authentication failed";
        case OpenError::Replay:
            return "replayed sequence";
        case OpenError::Decompression:
            return "decompression failed";
        case OpenError::SizeMismatch:
            return "size mismatch";
        case OpenError::BadPayload:
            return "bad payload";
        case OpenError::SchemaMismatch:
            return "schema mismatch";
        case OpenError::HeaderMismatch:
            return "header mismatch";
        case OpenError::Internal:
            return "internal error";
        case OpenError::SenderNotForBase:
            return "sender not registered for the base";
    }
    return "unknown error";
}

size_t max_sealed_size(size_t max_uncompressed) noexcept {
    const size_t bound = ZSTD_compressBound(max_uncompressed);
    return ZSTD_isError(bound) ? kOverhead : kOverhead + bound;
}

bool valid_base_id(std::string_view id) noexcept {
    if (id.size() != 8) return false;
    for (size_t i = 0; i < 7; ++i)
        if (id[i] < '0' || id[i] > '9') return false;
    return id[7] >= 'A' && id[7] <= 'Z';
}

Bytes hpke_info(std::string_view base_id) {
    const std::string_view prefix = kInfoPrefix;
    Bytes info(prefix.size() + base_id.size());
    std::copy(prefix.begin(), prefix.end(), info.begin());
    std::copy(base_id.begin(), base_id.end(), info.begin() + std::ptrdiff_t(prefix.size()));
    return info;
}

std::array<uint8_t, kHeaderSize> encode_header(const Header &h) noexcept {
    std::array<uint8_t, kHeaderSize> out{};
    std::memcpy(out.data() + kOffMagic, kMagic.data(), kMagic.size());
    put(out.data() + kOffVersion, h.version);
    put(out.data() + kOffKem, h.kem);
    put(out.data() + kOffKdf, h.kdf);
    put(out.data() + kOffAead, h.aead);
    std::memcpy(out.data() + kOffRecipient, h.recipient.data(), h.recipient.size());
    std::memcpy(out.data() + kOffSender, h.sender.data(), h.sender.size());
    std::memcpy(out.data() + kOffBase, h.base_id.data(), h.base_id.size());
    put(out.data() + kOffSequence, h.sequence);
    put(out.data() + kOffCreated, h.created_unix);
    put(out.data() + kOffCompressed, h.compressed_size);
    put(out.data() + kOffUncompressed, h.uncompressed_size);
    return out;
}

OpenError parse_header(std::span<const uint8_t> file, Header &h, std::string *error) {
    h = Header{};
    if (file.size() < kHeaderSize)
        return refuse(OpenError::Truncated, error,
                      std::to_string(file.size()) + " bytes, shorter than the " +
                          std::to_string(kHeaderSize) + "-byte header");
    const uint8_t *p = file.data();
    if (std::memcmp(p + kOffMagic, kMagic.data(), kMagic.size()) != 0)
        return refuse(OpenError::BadMagic, error, "not a .sonde snapshot file");
    h.version = get<uint16_t>(p + kOffVersion);
    h.kem = get<uint16_t>(p + kOffKem);
    h.kdf = get<uint16_t>(p + kOffKdf);
    h.aead = get<uint16_t>(p + kOffAead);
    std::memcpy(h.recipient.data(), p + kOffRecipient, h.recipient.size());
    std::memcpy(h.sender.data(), p + kOffSender, h.sender.size());
    std::memcpy(h.base_id.data(), p + kOffBase, h.base_id.size());
    h.sequence = get<uint64_t>(p + kOffSequence);
    h.created_unix = get<int64_t>(p + kOffCreated);
    h.compressed_size = get<uint32_t>(p + kOffCompressed);
    h.uncompressed_size = get<uint32_t>(p + kOffUncompressed);

    if (h.version != kFormatVersion)
        return refuse(OpenError::UnsupportedVersion, error,
                      "format version " + std::to_string(h.version) + ", this build reads " +
                          std::to_string(kFormatVersion));
    if (h.kem != kKemX25519Sha256 || h.kdf != kKdfHkdfSha256 || !known_aead(h.aead)) {
        char suite[64];
        std::snprintf(suite, sizeof suite, "kem 0x%04x, kdf 0x%04x, aead 0x%04x", h.kem, h.kdf,
                      h.aead);
        return refuse(OpenError::UnsupportedSuite, error,
                      std::string(suite) +
                          "; this build reads kem 0x0020, kdf 0x0001, aead 0x0002 or 0x0003");
    }
    if (!valid_base_id(h.base()))
        return refuse(OpenError::BadBaseId, error, "base id in the header is not a UAI");
    const uint64_t expected = uint64_t{h.compressed_size} + kOverhead;
    if (file.size() < expected)
        return refuse(OpenError::Truncated, error,
                      std::to_string(file.size()) + " bytes, the header announces " +
                          std::to_string(expected));
    if (file.size() > expected)
        return refuse(OpenError::TrailingBytes, error,
                      std::to_string(file.size()) + " bytes, the header announces " +
                          std::to_string(expected));
    return OpenError::None;
}

bool seal_compressed(std::span<const uint8_t> frame, uint32_t uncompressed_size,
                     const SealParams &p, Bytes &file, std::string *error, Receipt *receipt) {
    file.clear();
    if (!valid_base_id(p.base_id)) return fail(error, "base id \"" + p.base_id + "\" is not a UAI");
    if (!known_aead(uint16_t(p.aead)))
        return fail(error, "AEAD must be AES-256-GCM or ChaCha20-Poly1305");
    if (frame.size() > UINT32_MAX - kOverhead) return fail(error, "payload too large");
    Header h;
    h.aead = uint16_t(p.aead);
    h.recipient = key_id(p.recipient_public);
    h.sender = key_id(p.sender.public_key);
    std::memcpy(h.base_id.data(), p.base_id.data(), h.base_id.size());
    h.sequence = p.sequence;
    h.created_unix = p.created_unix;
    h.compressed_size = static_cast<uint32_t>(frame.size());
    h.uncompressed_size = uncompressed_size;
    const std::array<uint8_t, kHeaderSize> aad = encode_header(h);
    try {
        Bytes enc, ct;
        crypto::Context ctx;  // the steps of crypto::seal_auth, keeping the context to export
        crypto::Error e = crypto::setup_auth_s(p.aead, p.recipient_public, p.sender,
                                               hpke_info(p.base_id), enc, ctx, p.ephemeral_ikm);
        if (e == crypto::Error::None) e = ctx.seal(aad, frame, ct);
        if (e == crypto::Error::None && receipt) e = export_receipt(ctx, *receipt);
        if (e != crypto::Error::None)
            return fail(error, std::string("HPKE seal: ") + crypto::error_text(e));
        file.reserve(kHeaderSize + enc.size() + ct.size());
        file.assign(aad.begin(), aad.end());
        file.insert(file.end(), enc.begin(), enc.end());
        file.insert(file.end(), ct.begin(), ct.end());
    } catch (const std::bad_alloc &) {
        file.clear();
        return fail(error, "out of memory");
    }
    return true;
}

bool seal_snapshot(std::span<const uint8_t> bytes, const SealParams &p, Bytes &file,
                   std::string *error, Receipt *receipt) {
    file.clear();
    if (bytes.size() > kDefaultMaxUncompressed)
        return fail(error, "snapshot of " + std::to_string(bytes.size()) +
                               " bytes exceeds the consoles' bound");
    ZstdCctx cctx;
    if (!cctx.p) return fail(error, "out of memory (zstd context)");
    // The content size goes in the frame header (the console checks it against ours).
    ZSTD_CCtx_setParameter(cctx.p, ZSTD_c_compressionLevel, p.compression_level);
    ZSTD_CCtx_setParameter(cctx.p, ZSTD_c_contentSizeFlag, 1);
    Bytes frame;
    try {
        frame.resize(ZSTD_compressBound(bytes.size()));
    } catch (const std::bad_alloc &) {
        return fail(error, "out of memory");
    }
    const size_t n = ZSTD_compress2(cctx.p, frame.data(), frame.size(), bytes.data(), bytes.size());
    if (ZSTD_isError(n)) return fail(error, std::string("zstd: ") + ZSTD_getErrorName(n));
    frame.resize(n);
    return seal_compressed(frame, static_cast<uint32_t>(bytes.size()), p, file, error, receipt);
}

bool seal_snapshot(const Snapshot &s, const SealParams &p, Bytes &file, std::string *error,
                   Receipt *receipt) {
    file.clear();
    if (s.base_id != p.base_id || s.sequence != p.sequence || s.created_unix != p.created_unix)
        return fail(error,
                    "snapshot base id, sequence or creation time differ from the seal parameters");
    Bytes bytes;
    try {
        encode(s, bytes);
    } catch (const std::bad_alloc &) {
        return fail(error, "out of memory");
    }
    return seal_snapshot(bytes, p, file, error, receipt);
}

void trust_sender(OpenParams &params, const PublicKey &key, std::string_view base) {
    const KeyId id = key_id(key);
    params.trusted_senders[id] = key;
    params.sender_bases[id].emplace(base);
}

OpenError open_payload(std::span<const uint8_t> file, const OpenParams &p, Bytes &out, Header &h,
                       std::string *error) {
    out.clear();
    try {
        const OpenError e = open_checked(file, p, out, h, error);
        if (e != OpenError::None) out.clear();
        return e;
    } catch (const std::bad_alloc &) {
        out.clear();
        return refuse(OpenError::Internal, error, "out of memory");
    }
}

}  // namespace sonde::snapshot
