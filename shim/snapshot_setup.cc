#include "snapshot_setup.hpp"

#include <filesystem>
#include <system_error>
#include <vector>

#include "ship/spool.hpp"

namespace sonde::shim {
namespace {

namespace fs = std::filesystem;

bool make_dir(const std::string &dir, std::string *error) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) *error = dir + ": " + ec.message();
    return !ec;
}

// x.key -> x.pub
std::string pub_path(const std::string &private_path) {
    const std::string suffix = ".key";
    if (private_path.ends_with(suffix))
        return private_path.substr(0, private_path.size() - suffix.size()) + ".pub";
    return private_path + ".pub";
}

// An existing private key is reused (a second run keeps its keys); otherwise a new pair. Its
// public half goes next to it (x.key -> x.pub), naming the base a server key seals for.
bool ensure_key(const std::string &path, std::string *error, const std::string &base = {}) {
    crypto::KeyPair pair{};
    bool ok = fs::exists(path) ? snapshot::load_key_pair(path, pair, error)
                               : snapshot::generate_key_file(path, pair, error);
    std::vector<std::string> bases;
    if (!base.empty()) bases.push_back(base);
    ok = ok && snapshot::save_public_key(pub_path(path), pair.public_key, true, error, bases);
    snapshot::wipe(pair);
    return ok;
}

}  // namespace

bool prepare_console_key(const Options &o, std::string *error) {
    if (!make_dir(o.snapshots + "/keys", error) || !make_dir(o.snapshots + "/spool", error))
        return false;
    if (o.console_key != o.snapshots + "/keys/console.key") return true;  // the caller's key
    return ensure_key(o.console_key, error);
}

std::optional<SnapshotChannel> prepare_snapshots(const Options &o, const std::string &config_dir,
                                                 const std::string &uai, BaseConfig &config,
                                                 std::string *note, std::string *error) {
    SnapshotConfig &s = config.snapshots;
    if (s.spool_dir.empty()) {
        const std::string server_key = o.snapshots + "/keys/" + uai + ".server.key";
        if (!ensure_key(server_key, error, uai)) return std::nullopt;
        s.spool_dir = o.snapshots + "/spool";
        s.console_public_key = pub_path(o.console_key);
        s.sender_key = server_key;
        // A power cut rolls the segment back to the last snapshot: with hourly snapshots that
        // is the hour barrier, where the shim can copy it.
        s.interval_minutes = o.power_cut ? 60 : o.snapshot_interval;
        s.include_school_only = o.include_school_only;
        if (!save_config(config_path(config_dir, uai), config, error)) return std::nullopt;
        *note += ", snapshots to " + s.spool_dir;
    } else {
        *note += ", kept its [snapshots] (" + s.spool_dir + ")";
    }
    if (!make_dir(s.spool_dir, error)) return std::nullopt;
    SnapshotChannel channel;
    channel.spool_dir = s.spool_dir;
    if (!snapshot::load_public_key(s.sender_key, channel.server, error)) return std::nullopt;
    const ship::Spool spool(s.spool_dir, uai);
    for (const ship::SpoolEntry &e : spool.pending()) channel.removed_stale += spool.remove(e);
    spool.remove_temporaries(0);  // and any leftover, receipts without their file included
    std::error_code ec;
    fs::remove(s.spool_dir + "/" + uai + ".state", ec);  // a new segment: sequences restart
    return channel;
}

bool load_console_key(const Options &o, crypto::KeyPair &out, std::string *error) {
    return snapshot::load_key_pair(o.console_key, out, error);
}

}  // namespace sonde::shim
