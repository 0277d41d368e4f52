#pragma once
// The console's keys for reading sealed snapshots, as `open` and `audit` take them:
// --key CONSOLE_KEY (its key pair) and --trust SERVER_PUB[,...] (the servers it accepts).

#include <string>

#include "snapshot/console.hpp"

namespace sonde::ctl {

// Loads both into params.recipient and params.trusted_senders; false with *error set.
bool load_reading_keys(const std::string &key_path, const std::string &trust_list,
                       snapshot::OpenParams &params, std::string *error);

}  // namespace sonde::ctl
