#pragma once
// The week scenario: bases x processes host processes replay a school week day by day; the
// driver checks every day's distinct users while the day is still readable, then counters,
// gauges, labels, month and school-year users, and distributions at the end.

#include "options.hpp"

namespace sonde::shim {

int run_week(const Options &options);

}  // namespace sonde::shim
