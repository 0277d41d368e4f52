#pragma once
// The end of the week replay with --snapshots: the console opens every spool file of each
// base, ingests them into one IngestStore, compares its figures with the oracle, and prints
// the "snapshots" section of the report (with a short console view of each base).

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
