#include "ship/policy.hpp"

#include <array>
#include <map>
#include <sstream>
#include <string>

#include "catalog_layout.hpp"

namespace sonde::ship {
namespace {

// The first non-derived indicator whose source names `key`.
MeasurePolicy lookup(const char *key) {
    for (const catalog::Indicator &i : catalog::kIndicators) {
        if (i.kind == catalog::IndicatorKind::Derived) continue;
        std::istringstream tokens(i.source);
        for (std::string t; tokens >> t;)
            if (t == key)
                return {i.id, i.audience == catalog::Audience::SchoolOnly,
                        std::string(i.theme) == "Social"};
    }
    return {};
}

// Resolved once per table: the policy runs on every snapshot.
template <typename Table, size_t N>
std::array<MeasurePolicy, N> resolve(const Table &table) {
    std::array<MeasurePolicy, N> out{};
    for (size_t i = 1; i < N; ++i) out[i] = lookup(table[i].key);
    return out;
}

}  // namespace

MeasurePolicy event_policy(uint32_t e) {
    static const auto table =
        resolve<decltype(catalog::kEvents), catalog::kEventCount + 1>(catalog::kEvents);
    return e >= 1 && e <= catalog::kEventCount ? table[e] : MeasurePolicy{};
}
MeasurePolicy tally_policy(uint32_t t) {
    static const auto table =
        resolve<decltype(catalog::kTallies), catalog::kTallyCount + 1>(catalog::kTallies);
    return t >= 1 && t <= catalog::kTallyCount ? table[t] : MeasurePolicy{};
}
MeasurePolicy gauge_policy(uint32_t g) {
    static const auto table =
        resolve<decltype(catalog::kGauges), catalog::kGaugeCount + 1>(catalog::kGauges);
    return g >= 1 && g <= catalog::kGaugeCount ? table[g] : MeasurePolicy{};
}

void apply_policy(snapshot::Snapshot &s, const PolicyConfig &p) {
    using snapshot::SuppressionReason;
    std::map<std::pair<uint32_t, SuppressionReason>, uint32_t> withheld;
    auto small = [&](int64_t v) { return v >= 1 && v < int64_t(p.k_anonymity); };

    // Values: only tallies belong to Social or school-only indicators among counters.
    std::vector<snapshot::Value> kept;
    kept.reserve(s.values.size());
    for (snapshot::Value &v : s.values) {
        const MeasurePolicy mp =
            v.measure_kind == snapshot::MeasureKind::Tally   ? tally_policy(v.measure_id)
            : v.measure_kind == snapshot::MeasureKind::Event ? event_policy(v.measure_id)
                                                             : MeasurePolicy{};
        if (mp.school_only && !p.include_school_only) {
            ++withheld[{mp.indicator, SuppressionReason::SchoolOnly}];
            continue;
        }
        if (mp.social && small(v.value)) {
            v.value = 0;
            v.suppressed = true;
            ++withheld[{mp.indicator, SuppressionReason::KAnonymity}];
        }
        kept.push_back(v);
    }
    s.values.swap(kept);

    std::vector<snapshot::Gauge> gauges;
    for (snapshot::Gauge &g : s.gauges) {
        const MeasurePolicy mp = gauge_policy(g.gauge);
        if (mp.school_only && !p.include_school_only) {
            ++withheld[{mp.indicator, SuppressionReason::SchoolOnly}];
            continue;
        }
        if (mp.social && small(g.value)) {
            g.value = 0;
            g.suppressed = true;
            ++withheld[{mp.indicator, SuppressionReason::KAnonymity}];
        }
        gauges.push_back(g);
    }
    s.gauges.swap(gauges);

    std::vector<snapshot::Distribution> distributions;
    for (snapshot::Distribution &d : s.distributions) {
        const MeasurePolicy mp = tally_policy(d.tally);
        if (mp.school_only && !p.include_school_only) {
            ++withheld[{mp.indicator, SuppressionReason::SchoolOnly}];
            continue;
        }
        bool any_small = false;
        for (uint64_t n : d.students) any_small |= small(int64_t(n));
        if (mp.social && any_small) {  // one small bin would reveal itself from the others
            for (uint64_t &n : d.students) n = 0;
            d.suppressed = true;
            ++withheld[{mp.indicator, SuppressionReason::KAnonymity}];
        }
        distributions.push_back(d);
    }
    s.distributions.swap(distributions);

    for (const auto &[key, count] : withheld)
        s.suppressed.push_back({key.first, key.second, count});
    s.policy = {p.k_anonymity, p.include_school_only};
}

}  // namespace sonde::ship
