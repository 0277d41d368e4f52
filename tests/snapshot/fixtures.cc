#include "fixtures.hpp"

#include <zstd.h>

#include <catch2/catch.hpp>
#include <random>

#include "catalog_layout.hpp"
#include "snapshot/wire.hpp"

namespace fixtures {
namespace {

using sonde::crypto::KeyPair;
namespace catalog = sonde::catalog;

KeyPair derived(uint8_t seed) {
    std::array<uint8_t, 32> ikm{};
    ikm.fill(seed);
    return sonde::crypto::derive_key_pair(ikm);
}

Window window(WindowKind kind, int64_t start, uint32_t number) { return {kind, start, number}; }

// Figures of the right order of magnitude, from a fixed generator: mean m, spread 0..2m.
class Figures {
  public:
    explicit Figures(uint64_t seed) : rng_(seed) {}
    int64_t around(int64_t mean) {
        return mean <= 0 ? 0 : int64_t(rng_() % uint64_t(2 * mean + 1));
    }

  private:
    std::mt19937_64 rng_;
};

// Events per hour and per level in a busy hour of a 1,500-student lycée (8 levels).
int64_t hourly_event_mean(uint32_t event) {
    switch (event) {
        case SONDE_EV_MESSAGE_SENT:
            return 40;
        case SONDE_EV_MESSAGE_RECEIVED:
            return 120;
        case SONDE_EV_MARK_ENTERED:
            return 150;
        case SONDE_EV_LOGBOOK_LESSON_CONTENT:
            return 15;
        case SONDE_EV_LOGBOOK_HOMEWORK:
            return 12;
        case SONDE_EV_TEXTBOOK_ACCESS_STUDENT:
            return 60;
        case SONDE_EV_COPY_HANDED_IN:
            return 20;
        default:
            return 3;
    }
}

int64_t hourly_connection_mean(uint32_t profile, uint32_t medium) {
    static constexpr int64_t kMean[7][4] = {{0, 0, 0, 0}, {0, 0, 150, 300}, {0, 0, 60, 200},
                                            {0, 0, 4, 6}, {0, 80, 20, 15},  {0, 30, 5, 2},
                                            {0, 2, 2, 1}};
    return kMean[profile][medium];
}

void add_hour(Snapshot &s, Figures &f, int64_t start) {
    const Window w = window(WindowKind::Hour, start, uint32_t(start / 3600));
    for (uint32_t e = 1; e <= catalog::kEventCount; ++e)
        for (uint32_t l = 0; l <= (catalog::kEvents[e].per_level ? 8u : 0u); ++l)
            s.values.push_back(
                {w, MeasureKind::Event, e, l, 0, 0, 0, f.around(hourly_event_mean(e)), false});
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t)
        for (uint32_t l = 0; l <= 8; ++l)
            s.values.push_back(
                {w, MeasureKind::Tally, t, l, 0, 0, 0, f.around(t <= 2 ? 12 : 1), false});
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
        for (uint32_t m = 1; m <= catalog::kMedia; ++m)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                s.values.push_back({w, MeasureKind::Connection, 1, 0, p, m, a,
                                    f.around(hourly_connection_mean(p, m) / a), false});
}

// The selections the console needs: each single combination, then per profile .Net (web|mobile)
// by access and overall, per profile all media, per medium all profiles, and everyone.
std::vector<std::array<uint32_t, 3>> distinct_selections() {
    constexpr uint32_t kAllProfiles = (1u << catalog::kProfiles) - 1, kAllMedia = 7, kAllAccess = 3;
    const uint32_t net = value_bit(SONDE_MEDIUM_WEB) | value_bit(SONDE_MEDIUM_MOBILE);
    std::vector<std::array<uint32_t, 3>> out;
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
        for (uint32_t m = 1; m <= catalog::kMedia; ++m)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                out.push_back({value_bit(p), value_bit(m), value_bit(a)});
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p) {
        out.push_back({value_bit(p), net, kAllAccess});
        out.push_back({value_bit(p), net, value_bit(SONDE_ACCESS_DIRECT)});
        out.push_back({value_bit(p), net, value_bit(SONDE_ACCESS_ENT)});
        out.push_back({value_bit(p), kAllMedia, kAllAccess});
    }
    for (uint32_t m = 1; m <= catalog::kMedia; ++m)
        out.push_back({kAllProfiles, value_bit(m), kAllAccess});
    out.push_back({kAllProfiles, net, kAllAccess});
    out.push_back({kAllProfiles, kAllMedia, kAllAccess});
    return out;
}

void add_distinct(Snapshot &s, Figures &f, const Window &w, int64_t scale) {
    for (const auto &[profiles, media, accesses] : distinct_selections()) {
        const int64_t users = f.around(scale * std::popcount(profiles) * std::popcount(media));
        const bool hidden = users < int64_t(s.policy.k_anonymity);
        s.distinct.push_back({w, profiles, media, accesses, hidden ? 0u : uint64_t(users), hidden});
    }
}

}  // namespace

const Keys &keys() {
    static const Keys k{derived(1), derived(2), derived(3)};
    return k;
}

Snapshot realistic_snapshot(uint64_t sequence, int64_t created, uint64_t seed) {
    Figures f(seed);
    Snapshot s;
    s.schema_hash = catalog::kSchemaHash;
    s.catalog_version = catalog::kCatalogVersion;
    s.base_id = kBase;
    s.product = SONDE_PRODUCT_PRONOTE;
    s.segment_generation = 0x9E3779B97F4A7C15ULL;
    s.sequence = sequence;
    s.created_unix = created;
    s.timezone = "Europe/Paris";
    s.policy = {5, true};
    for (const char *label :
         {"2NDE", "1ERE G", "1ERE STMG", "TLE G", "TLE STMG", "1CAP", "2CAP", "BTS SIO"})
        s.levels.push_back({uint32_t(s.levels.size() + 1), label});

    add_hour(s, f, kHour09);
    add_hour(s, f, kHour10);

    add_distinct(s, f, window(WindowKind::Day, kDay, 20781), 150);
    add_distinct(s, f, window(WindowKind::Day, kPreviousDay, 20780), 250);
    add_distinct(s, f, window(WindowKind::Month, kMonth, 682), 500);
    add_distinct(s, f, window(WindowKind::Month, kPreviousMonth, 681), 550);
    add_distinct(s, f, window(WindowKind::SchoolYear, kSchoolYear, 2026), 600);
    add_distinct(s, f, window(WindowKind::SchoolYear, kPreviousSchoolYear, 2025), 620);

    // 7 tallies x 8 levels x 5 bins: pessimistic (the catalogue bins 5 tallies, in 4 or 5 bins).
    const Window year = window(WindowKind::SchoolYear, kSchoolYear, 2026);
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t)
        for (uint32_t l = 1; l <= 8; ++l) {
            Distribution d{year, t, l, {0, 1, 5, 10, 20}, {}, false};
            for (int b = 0; b < 5; ++b)
                d.students.push_back(uint64_t(f.around(b == 0 ? 120 : 40 >> b)));
            s.distributions.push_back(std::move(d));
        }

    // 40 gauges: the 17 without levels, students enrolled and classes on 8 levels, half-board on 7.
    const int64_t set = kCreated - 86400 * 20;
    for (uint32_t g : {1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22, 27})
        s.gauges.push_back({g, 0, 20 + f.around(200), set + f.around(3600), false});
    for (uint32_t l = 1; l <= 8; ++l) {
        s.gauges.push_back({SONDE_GAUGE_STUDENTS_ENROLLED, l, 150 + f.around(40), set, false});
        s.gauges.push_back({SONDE_GAUGE_CLASSES, l, 5 + f.around(2), set, false});
        if (l < 8)
            s.gauges.push_back(
                {SONDE_GAUGE_STUDENTS_HALF_BOARD, l, 100 + f.around(30), set, false});
    }
    s.suppressed = {{63, SuppressionReason::KAnonymity, 3}, {67, SuppressionReason::KAnonymity, 9}};
    return s;
}

Snapshot small_snapshot(uint64_t sequence, int64_t created) {
    Snapshot s;
    s.schema_hash = catalog::kSchemaHash;
    s.catalog_version = catalog::kCatalogVersion;
    s.base_id = kBase;
    s.product = SONDE_PRODUCT_PRONOTE;
    s.segment_generation = 0x1234;
    s.sequence = sequence;
    s.created_unix = created;
    s.timezone = "Europe/Paris";
    s.policy = {5, false};
    s.levels = {{1, "2NDE"}, {2, "1ERE"}};
    const Window hour = window(WindowKind::Hour, kHour10, 498753);
    s.values = {{hour, MeasureKind::Event, SONDE_EV_MESSAGE_SENT, 1, 0, 0, 0, 12, false},
                {hour, MeasureKind::Connection, 1, 0, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_MOBILE,
                 SONDE_ACCESS_ENT, 30, false}};
    s.gauges = {{SONDE_GAUGE_CLASSES, 1, 6, kCreated - 3600, false}};
    s.distinct = {{window(WindowKind::Day, kDay, 20781), value_bit(SONDE_PROFILE_STUDENT),
                   value_bit(SONDE_MEDIUM_WEB) | value_bit(SONDE_MEDIUM_MOBILE), 3, 27, false}};
    s.distributions = {{window(WindowKind::SchoolYear, kSchoolYear, 2026),
                        SONDE_TALLY_ABSENCE_HALF_DAY,
                        1,
                        {0, 1, 5, 10, 20},
                        {120, 20, 8, 0, 0},
                        false}};
    return s;
}

SealParams seal_params(const Snapshot &s, sonde::crypto::Aead aead) {
    SealParams p;
    p.recipient_public = keys().console.public_key;
    p.sender = keys().school;
    p.aead = aead;
    p.base_id = s.base_id;
    p.sequence = s.sequence;
    p.created_unix = s.created_unix;
    return p;
}

OpenParams open_params() {
    OpenParams p;
    p.recipient = keys().console;
    trust_sender(p, keys().school.public_key, kBase);
    return p;
}

Bytes seal(const Snapshot &s, sonde::crypto::Aead aead) {
    Bytes file;
    std::string error;
    INFO(error);
    REQUIRE(seal_snapshot(s, seal_params(s, aead), file, &error));
    return file;
}

Bytes zstd_frame(const Bytes &data, bool with_content_size, int level) {
    ZSTD_CCtx *c = ZSTD_createCCtx();
    REQUIRE(c);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, with_content_size ? 1 : 0);
    Bytes out(ZSTD_compressBound(data.size()));
    size_t n;
    if (with_content_size) {
        n = ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
    } else {  // streaming with no pledged size: the frame header has no content size
        ZSTD_inBuffer in{data.data(), data.size(), 0};
        ZSTD_outBuffer o{out.data(), out.size(), 0};
        n = ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
        REQUIRE(n == 0);
        n = o.pos;
    }
    ZSTD_freeCCtx(c);
    REQUIRE_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

v1::Snapshot to_proto(const Snapshot &s) {
    Bytes bytes;
    encode(s, bytes);
    v1::Snapshot out;
    std::string error;
    INFO(error);
    REQUIRE(parse_snapshot(bytes, out, &error) == OpenError::None);
    return out;
}

}  // namespace fixtures
