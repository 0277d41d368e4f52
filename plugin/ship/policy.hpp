#pragma once
// The privacy policy, applied to a built snapshot before it is encoded:
//  - indicators whose recipients are "Établissements seuls" (audience school_only in the
//    catalogue) are removed unless the base's configuration includes them;
//  - for the Social indicators, privacy rule 2 (docs/privacy.md): the final figures of closed
//    school years are exact where >= k or 0 (suppressed otherwise); every other Social figure
//    is rounded toward zero to a multiple of k and flagged `rounded`.
//  - rule 1, kept only to show what it let through (tests, the auditor's self-test): figure by
//    figure, 1..k-1 replaced by a suppressed marker, a distribution with a small bin suppressed
//    whole, withheld figures counted per indicator.
// Both come from the catalogue: which measure feeds which indicator, its audience, its theme.

#include <cstdint>

#include "snapshot/model.hpp"

namespace sonde::ship {

struct PolicyConfig {
    uint32_t k_anonymity = 5;
    bool include_school_only = false;
};

void apply_policy(snapshot::Snapshot &s, const PolicyConfig &policy);
// Rule 1, the former figure-by-figure rule: NOT safe (docs/privacy.md). Tests only.
void apply_policy_rule1(snapshot::Snapshot &s, const PolicyConfig &policy);

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
