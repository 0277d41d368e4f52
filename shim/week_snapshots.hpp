#pragma once
// The end of the week replay with --snapshots: the console opens every spool file of each
// base, ingests them into one IngestStore, compares its figures with the oracle, and prints
// the "snapshots" section of the report (with a short console view of each base, the count
// of hour figures compared one by one, and each base's connections hour by hour beside the
// oracle's, which scripts/demo.sh prints for one day).

#include <nlohmann/json.hpp>
#include <vector>

#include "compare.hpp"
#include "options.hpp"
#include "week_run.hpp"

namespace sonde::shim {

// Returns the section as JSON; false with *error when the console key cannot be loaded.
bool check_week_snapshots(CheckLog &log, const Options &options, std::vector<BaseRun> &runs,
                          nlohmann::json *section, std::string *error);

}  // namespace sonde::shim
