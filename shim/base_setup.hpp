#pragma once
// Getting bases ready for a replay: the directories, an enabled configuration per base (an
// existing one, e.g. written by `sonde-ctl enable`, is kept with its secret), and no segment
// left over from an earlier run (the oracle starts from zero).

#include <optional>
#include <string>

#include "core/config.hpp"
#include "options.hpp"

namespace sonde::shim {

struct Dirs {
    std::string config_dir, shm_dir;
    std::string scratch;  // the run's own new folder: the oracle's arena file (shared_arena.hpp)
};

// Creates the directories (and parents) and a new scratch folder, <temp>/sonde-shim.<random>
// (the system's temporary folder: $TMPDIR or /tmp, %TEMP% on Windows); missing directories
// are made in it.
std::optional<Dirs> prepare_dirs(const Options &options, std::string *error);

// Loads <config_dir>/<uai>.conf when it exists and is enabled; otherwise writes an enabled
// one (secret derived from the seed, `timezone` or else Europe/Paris, school year from 09-01).
// *note says which.
std::optional<BaseConfig> prepare_config(const std::string &config_dir, const std::string &uai,
                                         uint64_t seed, const std::string &timezone,
                                         std::string *note, std::string *error);

// Deletes <shm_dir>/sonde.<uai> if present; true if one was removed.
bool remove_stale_segment(const std::string &shm_dir, const std::string &uai);

}  // namespace sonde::shim
