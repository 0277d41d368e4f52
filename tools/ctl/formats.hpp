#pragma once
// The three renderings of a dump. Each is a pure function of the snapshot.

#include <optional>
#include <ostream>
#include <string_view>

#include "snapshot.hpp"

namespace sonde::ctl {

enum class Format { Table, Json, OpenMetrics };
std::optional<Format> parse_format(std::string_view name);

void write_table(const Snapshot &s, std::ostream &out);
void write_json(const Snapshot &s, std::ostream &out);
// OpenMetrics 1.0 text exposition, ending with "# EOF".
void write_openmetrics(const Snapshot &s, std::ostream &out);

}  // namespace sonde::ctl
