#pragma once
// Reading the catalogue's source strings at run time: which recorded measure a key names,
// what a connections[...] selector selects, what a derivation computes. The generator has
// validated every string at build time, so a parse failure here is a bug worth reporting.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog_layout.hpp"
#include "shm/layout.hpp"

namespace sonde::ctl {

enum class MeasureKind { Event, Gauge, Tally };

struct MeasureRef {
    MeasureKind kind;
    uint32_t id;  // the ABI enum value
    bool per_level;
    const char *key;
};

std::optional<MeasureRef> find_measure(std::string_view key);
std::vector<std::string> split_words(std::string_view text);  // on spaces

// connections[profile=student,medium=web|mobile] / connected_users[...]: the allowed values
// per dimension (index = enum value; all true when the dimension is not mentioned).
struct Selector {
    std::string text;
    bool distinct = false;  // connected_users rather than connections
    std::array<bool, catalog::kProfiles + 1> profiles{};
    std::array<bool, catalog::kMedia + 1> media{};
    std::array<bool, catalog::kAccesses + 1> accesses{};

    bool selects(uint32_t profile, uint32_t medium, uint32_t access) const {
        return profiles[profile] && media[medium] && accesses[access];
    }
    // Bits of the selected connection cells, as reader::connection_mask builds them.
    uint64_t mask() const;
};

std::optional<Selector> parse_selector(std::string_view text);

struct Derivation {
    enum class Op { Sum, Ratio, Referential } op;
    std::vector<uint16_t> refs;        // sum, referential: indicator ids
    std::optional<Selector> num, den;  // ratio
};

std::optional<Derivation> parse_derivation(std::string_view text);

// "0", "1-4", "20+": bin b of a distribution from the lower bounds of its bins.
std::string bin_label(const uint32_t *bin_low, uint32_t bin_count, uint32_t b);

const char *kind_name(catalog::IndicatorKind kind);
const char *audience_name(catalog::Audience audience);
const char *product_name(uint32_t product);
// Snake-case names of the diagnostics, as in sonde_diagnostics.
const char *diag_name(shm::Diag what);
const catalog::Indicator *find_indicator(uint16_t id);

// Whether the source measures of an indicator are the values of one of its dimensions
// (message_sent/message_received = direction): then the indicator's value is their sum.
// Otherwise the first measure is the value and the others are companions (classes next to
// students_enrolled, to compute an average).
bool measures_split_a_dimension(const catalog::Indicator &ind);

}  // namespace sonde::ctl
