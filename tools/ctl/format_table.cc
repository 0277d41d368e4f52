// The human view of a dump: one line per indicator, indented detail lines below it.

#include <cstdio>

#include "formats.hpp"
#include "text.hpp"

namespace sonde::ctl {
namespace {

std::string pad(std::string text, size_t width) {
    if (text.size() < width) text.resize(width, ' ');
    return text;
}

std::string pad_left(const std::string &text, size_t width) {
    return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

std::string levels_text(const Snapshot &s, const std::vector<LevelValue> &levels) {
    std::string text;
    for (const LevelValue &lv : levels)
        text +=
            (text.empty() ? "" : " ") + s.level_names[lv.level] + "=" + std::to_string(lv.value);
    return text;
}

std::string bins_text(const DistributionReading &d, const std::vector<uint64_t> &bins) {
    std::string text;
    for (size_t b = 0; b < bins.size(); ++b)
        text += (b ? " " : "") + d.bin_labels[b] + "=" + std::to_string(bins[b]);
    return text;
}

std::string headline(const IndicatorReading &r) {
    if (r.percent) return one_decimal(*r.percent) + "%";
    return r.value ? std::to_string(*r.value) : "-";
}

std::string measure_line(const Snapshot &s, const MeasureReading &m) {
    std::string line = std::string(m.ref.key) + ": ";
    if (!m.total) return line + "never set";
    line += m.levels.empty()
                ? std::to_string(*m.total)
                : levels_text(s, m.levels) + " (total " + std::to_string(*m.total) + ")";
    if (m.ref.kind == MeasureKind::Gauge) line += ", set " + iso8601_utc(m.set_unix);
    return line;
}

// The short note after the value, and the detail lines under the indicator.
void describe(const Snapshot &s, const IndicatorReading &r, std::string &note,
              std::vector<std::string> &details) {
    using catalog::IndicatorKind;
    switch (r.def->kind) {
        case IndicatorKind::Counter:
        case IndicatorKind::Gauge:
            if (r.selector) {
                note = r.selector->text;
                break;
            }
            if (r.measures.size() == 1) {
                const MeasureReading &m = r.measures.front();
                if (r.def->kind == IndicatorKind::Gauge)
                    note = m.total ? "set " + iso8601_utc(m.set_unix) : "never set";
                if (!m.levels.empty()) details.push_back("by level: " + levels_text(s, m.levels));
                break;
            }
            // The levels of the value, unless they are just those of the first measure below.
            if (!r.levels.empty() && measures_split_a_dimension(*r.def))
                details.push_back("by level: " + levels_text(s, r.levels));
            for (const MeasureReading &m : r.measures) details.push_back(measure_line(s, m));
            break;
        case IndicatorKind::Distinct: {
            note = "distinct users, " + r.selector->text;
            std::string line;
            for (uint32_t w = 0; w < shm::kWindows; ++w)
                line += std::string(w ? ", " : "") + kWindowNames[w] + " " +
                        std::to_string(r.windows[w].current) + " (previous " +
                        std::to_string(r.windows[w].previous) + ")";
            details.push_back(line);
            break;
        }
        case IndicatorKind::Distribution:
            note = "events";
            if (!r.levels.empty())
                details.push_back("events by level: " + levels_text(s, r.levels));
            if (r.distribution) {
                const DistributionReading &d = *r.distribution;
                details.push_back("students per bin, school year " + std::to_string(d.school_year) +
                                  ": " + bins_text(d, d.total));
                for (const auto &[level, bins] : d.levels)
                    details.push_back("  " + s.level_names[level] + ": " + bins_text(d, bins));
            }
            break;
        case IndicatorKind::Derived:
            if (!r.note.empty())
                note = r.note;
            else if (r.numerator)
                note = std::to_string(*r.numerator) + " / " + std::to_string(*r.denominator) +
                       " connections";
            else
                note = r.def->source;
            break;
    }
}

}  // namespace

void write_table(const Snapshot &s, std::ostream &out) {
    out << "base " << s.base << " (" << product_name(s.product) << "), schema "
        << hex64(s.schema_hash) << ", generation " << hex64(s.generation) << "\n";
    char start[8];
    std::snprintf(start, sizeof start, "%02u-%02u", unsigned(s.options.school_year_start.month),
                  unsigned(s.options.school_year_start.day));
    out << "at " << iso8601_utc(s.options.at) << " in " << s.options.timezone << ": day "
        << s.stamps.day << ", month " << s.stamps.month << ", school year " << s.stamps.school_year
        << " (starts " << start << ")\n";
    std::string levels;
    for (uint32_t l = 0; l < catalog::kLevelSlots; ++l)
        if (s.level_declared[l]) levels += " " + std::to_string(l) + "=" + s.level_names[l];
    out << "levels:" << (levels.empty() ? " none declared" : levels) << "\n\n";

    out << pad_left("id", 3) << "  " << pad("indicator", 32) << pad("kind", 14)
        << pad("audience", 12) << pad_left("value", 10) << "  note\n";
    for (const IndicatorReading &r : s.indicators) {
        std::string note;
        std::vector<std::string> details;
        describe(s, r, note, details);
        out << pad_left(std::to_string(r.def->id), 3) << "  " << pad(r.def->key, 32)
            << pad(kind_name(r.def->kind), 14) << pad(audience_name(r.def->audience), 12)
            << pad_left(headline(r), 10) << (note.empty() ? "" : "  " + note) << "\n";
        for (const std::string &d : details) out << "       " << d << "\n";
    }

    out << "\nconnections (profile x medium/access):\n" << pad("", 17);
    for (uint32_t m = 1; m <= catalog::kMedia; ++m)
        for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
            out << pad_left(
                std::string(catalog::kMediumValues[m].key) + "/" + catalog::kAccessValues[a].key,
                15);
    out << "\n";
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p) {
        out << "  " << pad(catalog::kProfileValues[p].key, 15);
        for (uint32_t m = 1; m <= catalog::kMedia; ++m)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                out << pad_left(std::to_string(s.connections[catalog::connection_cell(p, m, a)]),
                                15);
        out << "\n";
    }

    out << "\ndiagnostics:\n";
    for (uint32_t d = 0; d < s.diagnostics.size(); ++d)
        out << "  " << pad(diag_name(shm::Diag(d)), 22)
            << pad_left(std::to_string(s.diagnostics[d]), 10) << "\n";
    out << "  rows leased " << s.rows_leased << " / " << s.rows_total << ", users " << s.users_used
        << " / " << s.users_capacity << ", students " << s.students_used << " / "
        << s.students_capacity << "\n";
}

}  // namespace sonde::ctl
