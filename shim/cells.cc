#include "cells.hpp"

namespace sonde::shim {
namespace {

template <typename Span>
std::string span_name(const Span &span, uint32_t cell) {
    std::string name = span.key;
    if (span.per_level) name += "[level " + std::to_string(cell - span.first) + "]";
    return name;
}

}  // namespace

std::string combination_name(uint32_t cell) {
    const uint32_t access = cell % catalog::kAccesses + 1;
    const uint32_t medium = cell / catalog::kAccesses % catalog::kMedia + 1;
    const uint32_t profile = cell / catalog::kAccesses / catalog::kMedia + 1;
    return std::string(catalog::kProfileValues[profile].key) + "/" +
           catalog::kMediumValues[medium].key + "/" + catalog::kAccessValues[access].key;
}

std::string counter_cell_name(uint32_t cell) {
    if (cell < catalog::kConnectionCells) return "connections[" + combination_name(cell) + "]";
    for (uint32_t e = 1; e <= catalog::kEventCount; ++e) {
        const auto &s = catalog::kEvents[e];
        if (cell >= s.first && cell < s.first + (s.per_level ? catalog::kLevelSlots : 1))
            return span_name(s, cell);
    }
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t) {
        const auto &s = catalog::kTallies[t];
        if (cell >= s.first && cell < s.first + (s.per_level ? catalog::kLevelSlots : 1))
            return span_name(s, cell);
    }
    return "cell " + std::to_string(cell);
}

std::string gauge_cell_name(uint32_t cell) {
    for (uint32_t g = 1; g <= catalog::kGaugeCount; ++g) {
        const auto &s = catalog::kGauges[g];
        if (cell >= s.first && cell < s.first + (s.per_level ? catalog::kLevelSlots : 1))
            return span_name(s, cell);
    }
    return "gauge cell " + std::to_string(cell);
}

}  // namespace sonde::shim
