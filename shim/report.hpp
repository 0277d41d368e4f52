#pragma once
// Formatting of the shim's report: compact text on stdout, the full record as JSON.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "compare.hpp"
#include "sonde.h"

namespace sonde::shim {

std::string thousands(int64_t n);                  // 12345 -> "12,345"
std::string share(uint64_t part, uint64_t whole);  // "61%"
std::string pad(const std::string &s, size_t width, bool right_align = true);

uint64_t misuse_total(const sonde_diagnostics &d);  // every misuse and overflow counter
std::string diagnostics_line(const sonde_diagnostics &d);
nlohmann::json diagnostics_json(const sonde_diagnostics &d);

// "check: 12,345 comparisons, 0 mismatches: OK" and the first mismatches (all if verbose).
void print_check(const CheckLog &log, bool check_requested, bool verbose);
nlohmann::json check_json(const CheckLog &log);

bool write_json(const std::string &path, const nlohmann::json &doc, std::string *error);

}  // namespace sonde::shim
