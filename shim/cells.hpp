#pragma once
// Where each recorded measure lands in the counter and gauge layout of the catalogue, and
// readable names for mismatch reports.

#include <cstdint>
#include <string>

#include "catalog_layout.hpp"

namespace sonde::shim {

inline uint32_t event_cell(uint32_t event, uint32_t level) {
    const auto &span = catalog::kEvents[event];
    return span.first + (span.per_level ? level : 0);
}
inline uint32_t tally_cell(uint32_t tally, uint32_t level) {
    const auto &info = catalog::kTallies[tally];
    return info.first + (info.per_level ? level : 0);
}
inline uint32_t gauge_cell(uint32_t gauge, uint32_t level) {
    const auto &span = catalog::kGauges[gauge];
    return span.first + (span.per_level ? level : 0);
}
inline uint32_t connection_cell(uint32_t profile, uint32_t medium, uint32_t access) {
    return catalog::connection_cell(profile, medium, access);
}

// "connections[guardian/mobile/ent]", "message_sent[level 3]", "absence_half_day[level 1]".
std::string counter_cell_name(uint32_t cell);
std::string gauge_cell_name(uint32_t cell);
std::string combination_name(uint32_t connection_cell);  // "guardian/mobile/ent"

}  // namespace sonde::shim
