#pragma once
// The console's keys for reading sealed snapshots, as `open` and `audit` take them:
// --key CONSOLE_KEY (its key pair) and --trust ENTRY[,...] (the servers it accepts), each entry
// UAI=FILE (the key in FILE is registered for that base; repeat for a key serving several) or
// FILE (a public key file whose `bases` line names its bases; one without is refused).

#include <string>

#include "snapshot/console.hpp"

namespace sonde::ctl {

// Loads both into params.recipient, params.trusted_senders and params.sender_bases; false with
// *error set.
bool load_reading_keys(const std::string &key_path, const std::string &trust_list,
                       snapshot::OpenParams &params, std::string *error);

}  // namespace sonde::ctl
