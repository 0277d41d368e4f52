#include "keyring.hpp"

namespace sonde::console {

Keyring::~Keyring() {
    for (auto &[id, key] : keys_) snapshot::wipe(key);
}

bool Keyring::load(const std::vector<std::string> &files, std::string *error) {
    for (const std::string &path : files) {
        crypto::KeyPair key;
        if (!snapshot::load_key_pair(path, key, error)) return false;
        keys_[snapshot::key_id(key.public_key)] = key;
        snapshot::wipe(key);
    }
    return true;
}

const crypto::KeyPair *Keyring::find(const snapshot::KeyId &id) const {
    const auto it = keys_.find(id);
    return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace sonde::console
