// Fuzzes the console's opening of a .sonde file (open_snapshot), with fixed console and sender
// keys. The first byte chooses what the rest is:
//   0: a whole file as a server would upload it (header checks, refusals before and at
//      authentication);
//   1: a zstd frame, 4 bytes of declared size (little-endian) first, that this target seals
//      with the fixed keys before opening it, so that decompression within the bound, the
//      protobuf decode and the header comparison, which mutations of a sealed file can never
//      reach past authentication, are fuzzed too;
//   2: serialized Snapshot bytes, sealed (compressed) with the fixed keys under the base,
//      sequence and time they declare when they parse, so that whole files open.
#include <cstdint>
#include <span>
#include <string>

#include "crypto/x25519_openssl.hpp"
#include "snapshot/console.hpp"

namespace {

using namespace sonde::snapshot;

struct Keys {
    sonde::crypto::KeyPair console, sender;
    Keys() {
        // The console's X25519 (and 14 times the executions per second of mbedTLS's).
        sonde::crypto::set_x25519_implementation(sonde::crypto::openssl_x25519);
        const std::string a = "sonde fuzz: console key", b = "sonde fuzz: sender key";
        console =
            sonde::crypto::derive_key_pair({reinterpret_cast<const uint8_t *>(a.data()), a.size()});
        sender =
            sonde::crypto::derive_key_pair({reinterpret_cast<const uint8_t *>(b.data()), b.size()});
    }
};

const Keys &keys() {
    static const Keys k;
    return k;
}

constexpr const char *kBase = "0310001A";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    std::span<const uint8_t> rest(data + 1, size - 1);
    Bytes sealed;
    if (mode == 1) {
        if (rest.size() < 4) return 0;
        const uint32_t declared = uint32_t(rest[0]) | uint32_t(rest[1]) << 8 |
                                  uint32_t(rest[2]) << 16 | uint32_t(rest[3]) << 24;
        SealParams sp;
        sp.recipient_public = keys().console.public_key;
        sp.sender = keys().sender;
        sp.base_id = kBase;
        sp.sequence = 7;
        sp.created_unix = 1795511220;
        sp.ephemeral_ikm = Bytes(32, 0x5a);
        std::string why;
        if (!seal_compressed(rest.subspan(4), declared, sp, sealed, &why)) return 0;
        rest = sealed;
    } else if (mode == 2) {
        SealParams sp;
        sp.recipient_public = keys().console.public_key;
        sp.sender = keys().sender;
        sp.base_id = kBase;
        sp.sequence = 7;
        sp.created_unix = 1795511220;
        v1::Snapshot declared;
        if (declared.ParseFromArray(rest.data(), int(rest.size())) &&
            valid_base_id(declared.base_id())) {
            sp.base_id = declared.base_id();
            sp.sequence = declared.sequence();
            sp.created_unix = declared.created_unix();
        }
        sp.ephemeral_ikm = Bytes(32, 0x5a);
        std::string why;
        if (!seal_snapshot(rest, sp, sealed, &why)) return 0;
        rest = sealed;
    } else if (mode != 0) {
        return 0;
    }
    OpenParams p;
    p.recipient = keys().console;
    Header peek;
    trust_sender(p, keys().sender.public_key,
                 parse_header(rest, peek, nullptr) == OpenError::None ? peek.base() : kBase);
    p.max_uncompressed = 1 << 20;
    Receipt receipt{};
    p.receipt = &receipt;
    v1::Snapshot s;
    Header h;
    std::string error;
    const OpenError e = open_snapshot(rest, p, s, h, &error);
    if (e == OpenError::None) {
        // What opened is what the header says.
        if (s.base_id() != h.base() || s.sequence() != h.sequence) __builtin_trap();
    } else if (error.empty()) {
        __builtin_trap();  // every refusal says why
    }
    return 0;
}
