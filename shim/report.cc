#include "report.hpp"

#include <cstdio>
#include <fstream>

namespace sonde::shim {

std::string thousands(int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

std::string share(uint64_t part, uint64_t whole) {
    return whole ? std::to_string((part * 100 + whole / 2) / whole) + "%" : "-";
}

std::string pad(const std::string &s, size_t width, bool right_align) {
    if (s.size() >= width) return s;
    const std::string fill(width - s.size(), ' ');
    return right_align ? fill + s : s + fill;
}

uint64_t misuse_total(const sonde_diagnostics &d) {
    return d.null_argument + d.out_of_range + d.bad_struct_size + d.bad_argument + d.bad_handle +
           d.disabled_calls + d.users_table_full + d.students_table_full + d.config_errors;
}

std::string diagnostics_line(const sonde_diagnostics &d) {
    return std::string(d.enabled ? "enabled" : "DISABLED") + ", rows " +
           std::to_string(d.rows_in_use) + "/" + std::to_string(d.rows_total) + " leased, " +
           thousands(d.rows_reclaimed) + " reclaimed, " + thousands(d.shared_row_writers) +
           " shared-row writers, users " + thousands(d.users_used) + "/" +
           thousands(d.users_capacity) + ", students " + thousands(d.students_used) + "/" +
           thousands(d.students_capacity) + ", config reloads " + thousands(d.config_reloads) +
           ", segments replaced " + thousands(d.segments_replaced) + ", snapshots " +
           thousands(d.snapshots_written) + ", errors " + thousands(misuse_total(d));
}

nlohmann::json diagnostics_json(const sonde_diagnostics &d) {
    return {{"enabled", d.enabled != 0},
            {"null_argument", d.null_argument},
            {"out_of_range", d.out_of_range},
            {"bad_struct_size", d.bad_struct_size},
            {"bad_argument", d.bad_argument},
            {"bad_handle", d.bad_handle},
            {"disabled_calls", d.disabled_calls},
            {"shared_row_writers", d.shared_row_writers},
            {"rows_reclaimed", d.rows_reclaimed},
            {"users_table_full", d.users_table_full},
            {"students_table_full", d.students_table_full},
            {"config_errors", d.config_errors},
            {"config_reloads", d.config_reloads},
            {"segments_replaced", d.segments_replaced},
            {"rows_in_use", d.rows_in_use},
            {"rows_total", d.rows_total},
            {"users_used", d.users_used},
            {"users_capacity", d.users_capacity},
            {"students_used", d.students_used},
            {"students_capacity", d.students_capacity},
            {"snapshots_written", d.snapshots_written},
            {"snapshot_errors", d.snapshot_errors},
            {"spool_merges", d.spool_merges}};
}

void print_check(const CheckLog &log, bool check_requested, bool verbose) {
    const auto &m = log.mismatches();
    std::printf("check: %s comparisons with the oracle, %s mismatch%s: %s\n",
                thousands(log.comparisons()).c_str(), thousands(m.size()).c_str(),
                m.size() == 1 ? "" : "es",
                m.empty() ? "OK" : (check_requested ? "FAILED" : "differences found (no --check)"));
    const size_t shown = verbose ? m.size() : std::min<size_t>(m.size(), 20);
    for (size_t i = 0; i < shown; ++i) std::printf("  MISMATCH %s\n", describe(m[i]).c_str());
    if (shown < m.size())
        std::printf("  ... %zu more (--verbose or --json for all)\n", m.size() - shown);
}

nlohmann::json check_json(const CheckLog &log) {
    nlohmann::json list = nlohmann::json::array();
    for (const Mismatch &m : log.mismatches())
        list.push_back({{"base", m.base},
                        {"what", m.what},
                        {"expected_low", m.expected_low},
                        {"expected_high", m.expected_high},
                        {"actual", m.actual}});
    return {{"comparisons", log.comparisons()}, {"mismatches", list.size()}, {"details", list}};
}

bool write_json(const std::string &path, const nlohmann::json &doc, std::string *error) {
    std::ofstream out(path);
    out << doc.dump(1) << "\n";
    if (!out) {
        *error = "cannot write " + path;
        return false;
    }
    return true;
}

}  // namespace sonde::shim
