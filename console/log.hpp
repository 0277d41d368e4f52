#pragma once
// Readable log lines on stderr (journald adds its own time under systemd; ours is UTC, for a
// terminal): "2026-11-24T09:07:00Z info stored 0310001A/42 18342 bytes from 10.0.0.7".

#include <string>

namespace sonde::console {

enum class Level { Info, Warn, Error };
void log(Level level, const std::string &message);

}  // namespace sonde::console
