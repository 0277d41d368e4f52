#pragma once
// Shared test data: fixed keys, a realistic 15-minute snapshot of a 1,500-student lycée, and
// helpers to seal, open and convert.
#include <cstdint>

#include "catalog_layout.hpp"  // sonde_catalog.h enums
#include "snapshot/console.hpp"
#include "snapshot/envelope.hpp"
#include "snapshot/model.hpp"

namespace fixtures {

using namespace sonde::snapshot;

// 2026-11-24 10:07 Europe/Paris (CET, UTC+1): the quarter hour 09:52-10:07 touched two hours.
inline constexpr int64_t kCreated = 1795511220;
inline constexpr int64_t kHour09 = 1795507200, kHour10 = 1795510800;    // hour_index 498752, 498753
inline constexpr int64_t kDay = 1795474800, kPreviousDay = 1795388400;  // days 20781, 20780
inline constexpr int64_t kMonth = 1793487600, kPreviousMonth = 1790805600;  // months 682, 681
inline constexpr int64_t kSchoolYear = 1788213600, kPreviousSchoolYear = 1756677600;  // 2026, 2025
inline constexpr const char *kBase = "0310001A";

// Deterministic key pairs (derive_key_pair of fixed seeds).
struct Keys {
    sonde::crypto::KeyPair console, school, stranger;
};
const Keys &keys();

// A snapshot of the catalogue this build knows, with every kind of figure.
// `seed` varies the figures; `sequence` and `created` go in the snapshot (and the seal).
Snapshot realistic_snapshot(uint64_t sequence = 42, int64_t created = kCreated, uint64_t seed = 1);
// A handful of figures, for tests that read the output.
Snapshot small_snapshot(uint64_t sequence = 7, int64_t created = kCreated);

SealParams seal_params(const Snapshot &s,
                       sonde::crypto::Aead aead = sonde::crypto::Aead::ChaCha20Poly1305);
// The console's view: its key pair, the school trusted.
OpenParams open_params();

Bytes seal(const Snapshot &s, sonde::crypto::Aead aead = sonde::crypto::Aead::ChaCha20Poly1305);
Bytes zstd_frame(const Bytes &data, bool with_content_size = true, int level = 3);

// Through the wire: our encoder, then the generated parser.
v1::Snapshot to_proto(const Snapshot &s);

}  // namespace fixtures
