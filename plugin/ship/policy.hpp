#pragma once
// The privacy policy, applied to a built snapshot before it is encoded:
//  - indicators whose recipients are "Établissements seuls" (audience school_only in the
//    catalogue) are removed unless the base's configuration includes them;
//  - for the Social indicators, figures from 1 to k-1 are replaced by a suppressed marker
//    (value 0, suppressed = true); a distribution with any such bin is suppressed whole.
// Both come from the catalogue: which measure feeds which indicator, its audience, its theme.

#include <cstdint>

#include "snapshot/model.hpp"

namespace sonde::ship {

struct PolicyConfig {
    uint32_t k_anonymity = 5;
    bool include_school_only = false;
};

void apply_policy(snapshot::Snapshot &s, const PolicyConfig &policy);

// The catalogue indicator fed by a measure (0 if none) and what the policy needs of it.
struct MeasurePolicy {
    uint16_t indicator = 0;
    bool school_only = false;
    bool social = false;
};
MeasurePolicy event_policy(uint32_t event);
MeasurePolicy tally_policy(uint32_t tally);
MeasurePolicy gauge_policy(uint32_t gauge);

}  // namespace sonde::ship
