// Civil dates of the proleptic Gregorian calendar (Howard Hinnant's algorithms), for the
// console's day numbers (local days since 1970-01-01, as the snapshots' windows carry them,
// docs/snapshot.md#windows) and its UTC dates (HTTP dates, school years).
#pragma once

#include <cstdint>

namespace sonde::console {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t &y, unsigned &m, unsigned &d);

}  // namespace sonde::console
