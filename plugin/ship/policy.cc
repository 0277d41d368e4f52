#include "ship/policy.hpp"

#include <array>
#include <map>
#include <set>
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

// Rounded toward zero to a multiple of k: |result| <= |v|, |v - result| <= k - 1.
int64_t round_to_k(int64_t v, uint32_t k) { return k > 1 ? v / int64_t(k) * int64_t(k) : v; }

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

// Rule 2 (docs/privacy.md). The only exact Social figures are the final figures of closed
// school years, kept where they are >= k or 0 (a negative or small final is suppressed), so any
// sum of them over levels is >= k or 0. Every other Social figure (closed day, month, open
// month and school year, gauges, distributions) is rounded toward zero to a multiple of k and
// flagged `rounded`, whatever its value: no sum or difference of received figures is an exact
// count other than sums of those finals.
// Rule 1, figure by figure, as it was before docs/privacy.md: kept so that tests can show what
// the auditor finds in it. Not used by the shipper.
void apply_policy_rule1(snapshot::Snapshot &s, const PolicyConfig &p) {
    using snapshot::SuppressionReason;
    std::map<std::pair<uint32_t, SuppressionReason>, uint32_t> withheld;
    auto small = [&](int64_t v) { return v >= 1 && v < int64_t(p.k_anonymity); };
    std::vector<snapshot::Value> kept;
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
    for (snapshot::Gauge &g : s.gauges)
        if (gauge_policy(g.gauge).social && small(g.value)) {
            g.value = 0;
            g.suppressed = true;
            ++withheld[{gauge_policy(g.gauge).indicator, SuppressionReason::KAnonymity}];
        }
    for (snapshot::Distribution &d : s.distributions) {
        bool any_small = false;
        for (uint64_t n : d.students) any_small |= small(int64_t(n));
        if (tally_policy(d.tally).social && any_small) {
            for (uint64_t &n : d.students) n = 0;
            d.suppressed = true;
            ++withheld[{tally_policy(d.tally).indicator, SuppressionReason::KAnonymity}];
        }
    }
    for (const auto &[key, count] : withheld)
        s.suppressed.push_back({key.first, key.second, count});
    s.policy = {p.k_anonymity, p.include_school_only, 1};
}

void apply_policy(snapshot::Snapshot &s, const PolicyConfig &p) {
    std::set<uint32_t> school_only;  // indicators left out: listed once each, count 0
    const uint32_t k = p.k_anonymity;

    std::vector<snapshot::Value> kept;
    kept.reserve(s.values.size());
    for (snapshot::Value &v : s.values) {
        const MeasurePolicy mp =
            v.measure_kind == snapshot::MeasureKind::Tally   ? tally_policy(v.measure_id)
            : v.measure_kind == snapshot::MeasureKind::Event ? event_policy(v.measure_id)
                                                             : MeasurePolicy{};
        if (mp.school_only && !p.include_school_only) {
            school_only.insert(mp.indicator);
            continue;
        }
        if (mp.social && k > 1) {
            if (v.window.kind == snapshot::WindowKind::SchoolYear && v.closed) {
                if (v.value < int64_t(k)) v.value = 0, v.suppressed = true;  // also negatives
            } else {
                v.value = round_to_k(v.value, k);
                v.rounded = true;
                v.suppressed = v.value == 0;  // 0 here means "less than k in absolute value"
            }
        }
        kept.push_back(v);
    }
    s.values.swap(kept);

    std::vector<snapshot::Gauge> gauges;
    for (snapshot::Gauge &g : s.gauges) {
        const MeasurePolicy mp = gauge_policy(g.gauge);
        if (mp.school_only && !p.include_school_only) {
            school_only.insert(mp.indicator);
            continue;
        }
        if (mp.social && k > 1) {
            g.value = round_to_k(g.value, k);
            g.rounded = true;
            g.suppressed = g.value == 0;
        }
        gauges.push_back(g);
    }
    s.gauges.swap(gauges);

    std::vector<snapshot::Distribution> distributions;
    for (snapshot::Distribution &d : s.distributions) {
        const MeasurePolicy mp = tally_policy(d.tally);
        if (mp.school_only && !p.include_school_only) {
            school_only.insert(mp.indicator);
            continue;
        }
        if (mp.social && k > 1) {
            for (uint64_t &n : d.students) n = uint64_t(round_to_k(int64_t(n), k));
            d.rounded = true;
        }
        distributions.push_back(d);
    }
    s.distributions.swap(distributions);

    // A constant marker: every school-only indicator with a recorded measure, in every snapshot,
    // whether or not anything was withheld this time (its count would tell when it happens).
    if (!p.include_school_only)
        for (const catalog::Indicator &i : catalog::kIndicators)
            if (i.audience == catalog::Audience::SchoolOnly &&
                i.kind != catalog::IndicatorKind::Derived)
                school_only.insert(i.id);
    for (uint32_t id : school_only)
        s.suppressed.push_back({id, snapshot::SuppressionReason::SchoolOnly, 0});
    s.policy = {p.k_anonymity, p.include_school_only, k > 1 ? 2u : 0u};
}

}  // namespace sonde::ship
