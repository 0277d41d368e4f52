#include "week_run.hpp"

#include "cells.hpp"
#include "compare.hpp"

namespace sonde::shim {

bool plan_base_run(const Options &o, BaseRun &run, std::string *error) {
    run.calendar = SimCalendar::make(run.config.timezone, run.config.school_year_start, o.start,
                                     o.days, error, o.school_year);
    if (!run.calendar) return false;
    run.plan = plan_base(run.school, *run.calendar, o.processes, o.seed);
    run.keys.clear();
    for (uint32_t u = 0; u < run.school.user_count(); ++u)
        run.keys.push_back(run.school.user_key(u));
    return true;
}

LedgerShape ledger_shape(const Options &o, const BaseRun &run) {
    return {o.days, run.school.user_count(), uint32_t(run.calendar->school_years().size()),
            run.school.students};
}

Totals totals_of(const BaseRun &run) {
    Totals t;
    for (const Ledger &l : run.ledgers) {
        const LedgerHeader &h = l.head();
        t.connections += h.connections;
        t.count_calls += h.count_calls;
        t.student_calls += h.student_calls;
        for (uint32_t c = 0; c < catalog::kConnectionCells; ++c) t.combination[c] += h.cells[c];
    }
    return t;
}

Totals minus(const Totals &a, const Totals &b) {
    Totals d;
    d.connections = a.connections - b.connections;
    d.count_calls = a.count_calls - b.count_calls;
    d.student_calls = a.student_calls - b.student_calls;
    for (uint32_t c = 0; c < catalog::kConnectionCells; ++c)
        d.combination[c] = a.combination[c] - b.combination[c];
    return d;
}

NetShares net_shares(const Totals &t) {
    NetShares s;
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
        for (uint32_t m : {SONDE_MEDIUM_WEB, SONDE_MEDIUM_MOBILE})
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a) {
                const uint64_t n = uint64_t(t.combination[connection_cell(p, m, a)]);
                s.net += n;
                if (m == SONDE_MEDIUM_MOBILE) s.mobile += n;
                if (a == SONDE_ACCESS_ENT) s.ent += n;
            }
    return s;
}

size_t selection_index(const std::string &name) {
    const auto &sel = user_selections();
    for (size_t i = 0; i < sel.size(); ++i)
        if (sel[i].name == name) return i;
    return 0;
}

nlohmann::json users_json(const std::vector<uint64_t> &counts) {
    nlohmann::json j = nlohmann::json::object();
    for (size_t i = 0; i < counts.size(); ++i) j[user_selections()[i].name] = counts[i];
    return j;
}

}  // namespace sonde::shim
