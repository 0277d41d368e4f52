#include "registry.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "files.hpp"
#include "snapshot/envelope.hpp"

namespace sonde::console {
namespace fs = std::filesystem;

namespace {

bool valid_id_hex(const std::string &id) {
    return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// The arguments of `keys add` and `keys revoke`, checked the same way.
bool check_base(const std::string &base, std::string *error) {
    if (snapshot::valid_base_id(base)) return true;
    if (error) *error = "\"" + base + "\" is not a UAI (7 digits and a capital letter)";
    return false;
}

bool check_id(const std::string &id_hex, std::string *error) {
    if (valid_id_hex(id_hex)) return true;
    if (error) *error = "\"" + id_hex + "\" is not a key id (16 lowercase hex digits)";
    return false;
}

}  // namespace

KeyRegistry::KeyRegistry(std::string data_dir) : dir_(std::move(data_dir) + "/keys") {}

bool KeyRegistry::enrolled(const std::string &base) const {
    if (!snapshot::valid_base_id(base)) return false;
    std::error_code ec;
    return fs::is_directory(dir_ + "/" + base, ec);
}

bool KeyRegistry::lookup(const std::string &base, const snapshot::KeyId &id,
                         snapshot::PublicKey &out, bool include_revoked) const {
    if (!snapshot::valid_base_id(base)) return false;
    const std::string name = snapshot::to_hex(id) + ".pub";
    snapshot::PublicKey key;
    const std::string active = dir_ + "/" + base + "/" + name;
    if (snapshot::load_public_key(active, key, nullptr) && snapshot::key_id(key) == id) {
        out = key;
        return true;
    }
    if (!include_revoked) return false;
    const std::string revoked = dir_ + "/" + base + "/revoked/" + name;
    if (snapshot::load_public_key(revoked, key, nullptr) && snapshot::key_id(key) == id) {
        out = key;
        return true;
    }
    return false;
}

bool KeyRegistry::add(const std::string &base, const std::string &public_key_file,
                      std::string &id_hex, std::string *error, bool *already_registered) {
    if (already_registered) *already_registered = false;
    if (!check_base(base, error)) return false;
    snapshot::PublicKey key;
    if (!snapshot::load_public_key(public_key_file, key, error)) return false;
    id_hex = snapshot::to_hex(snapshot::key_id(key));
    const std::string base_dir = dir_ + "/" + base;
    if (!make_dirs(base_dir, error)) return false;
    std::error_code ec;
    if (fs::exists(base_dir + "/revoked/" + id_hex + ".pub", ec)) {
        if (error)
            *error = "key " + id_hex + " was revoked for " + base +
                     "; a revoked key stays revoked (generate a new pair)";
        return false;
    }
    if (fs::exists(base_dir + "/" + id_hex + ".pub", ec)) {
        if (error) *error = "key " + id_hex + " is already registered for " + base;
        if (already_registered) *already_registered = true;
        return false;
    }
    return snapshot::save_public_key(base_dir + "/" + id_hex + ".pub", key, false, error);
}

bool KeyRegistry::revoke(const std::string &base, const std::string &id_hex, std::string *error) {
    if (!check_base(base, error) || !check_id(id_hex, error)) return false;
    const std::string base_dir = dir_ + "/" + base;
    const std::string from = base_dir + "/" + id_hex + ".pub";
    const std::string to = base_dir + "/revoked/" + id_hex + ".pub";
    if (!make_dirs(base_dir + "/revoked", error)) return false;
    if (::rename(from.c_str(), to.c_str()) != 0) {
        if (error)
            *error = errno == ENOENT ? "key " + id_hex + " is not registered for " + base
                                     : "cannot move " + from + ": " + std::strerror(errno);
        return false;
    }
    return sync_dir(base_dir, error) && sync_dir(base_dir + "/revoked", error);
}

std::vector<KeyRegistry::Entry> KeyRegistry::list() const {
    std::vector<Entry> out;
    std::error_code ec;
    for (const auto &b : fs::directory_iterator(dir_, ec)) {
        const std::string base = b.path().filename().string();
        if (!snapshot::valid_base_id(base)) continue;
        for (const bool revoked : {false, true}) {
            std::error_code ec2;
            const fs::path d = revoked ? b.path() / "revoked" : b.path();
            for (const auto &f : fs::directory_iterator(d, ec2)) {
                const std::string name = f.path().filename().string();
                if (name.size() == 20 && name.ends_with(".pub") && valid_id_hex(name.substr(0, 16)))
                    out.push_back({base, name.substr(0, 16), revoked});
            }
        }
    }
    std::sort(out.begin(), out.end(), [](const Entry &a, const Entry &b) {
        return std::tie(a.base, a.revoked, a.id_hex) < std::tie(b.base, b.revoked, b.id_hex);
    });
    return out;
}

}  // namespace sonde::console
