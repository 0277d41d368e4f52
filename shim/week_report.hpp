#pragma once
// The week scenario's report of one base: a compact table on stdout and the JSON record.

#include <nlohmann/json.hpp>
#include <string>

#include "expectation.hpp"
#include "sonde.h"
#include "week_run.hpp"

namespace sonde::shim {

void print_week_base(const BaseRun &run, const Expectation &e, const sonde_diagnostics &diag);
nlohmann::json week_base_json(const BaseRun &run, const Expectation &e,
                              const sonde_diagnostics &diag);

}  // namespace sonde::shim
