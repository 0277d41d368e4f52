#pragma once
// The crash scenario: writer processes per base record as fast as they can; the driver
// SIGKILLs them at seeded random moments and starts replacements, then checks that every
// counter cell holds exactly what the journals committed (a call in flight at a kill counted
// fully or not at all), that distinct users stay within the journals' bounds, and that rows
// of dead processes were reclaimed.

#include "options.hpp"

namespace sonde::shim {

int run_crash(const Options &options);

}  // namespace sonde::shim
