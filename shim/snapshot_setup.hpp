#pragma once
// Turning snapshots on for the week replay (--snapshots DIR): key files in DIR/keys, the spool
// in DIR/spool, and a [snapshots] section in each base's configuration. A base whose
// configuration already has one (e.g. `sonde-ctl enable --spool-dir ...`) keeps it.

#include <optional>
#include <string>

#include "core/config.hpp"
#include "crypto/hpke.hpp"
#include "options.hpp"
#include "snapshot/keys.hpp"

namespace sonde::shim {

// What the console side needs to open a base's spool files.
struct SnapshotChannel {
    std::string spool_dir;
    snapshot::PublicKey server{};  // the base's sender public key (trusted)
    int removed_stale = 0;         // spool files of this base left over from an earlier run
};

// Creates DIR/keys/console.key(.pub) once, when the console key is the shim's own default.
bool prepare_console_key(const Options &options, std::string *error);

// Completes `config` (and rewrites <config_dir>/<uai>.conf) unless it has a [snapshots]
// section, creating DIR/keys/<uai>.server.key(.pub) when needed; removes stale spool files of
// the base (the segment starts from zero, so must the console's figures).
std::optional<SnapshotChannel> prepare_snapshots(const Options &options,
                                                 const std::string &config_dir,
                                                 const std::string &uai, BaseConfig &config,
                                                 std::string *note, std::string *error);

// The console's key pair (--console-key). Wipe it after use.
bool load_console_key(const Options &options, crypto::KeyPair &out, std::string *error);

}  // namespace sonde::shim
