#pragma once
// The console's own HPKE key pairs (recipient side), named by the header's recipient key id.

#include <map>
#include <string>
#include <vector>

#include "snapshot/keys.hpp"

namespace sonde::console {

class Keyring {
  public:
    Keyring() = default;
    Keyring(const Keyring &) = delete;
    Keyring &operator=(const Keyring &) = delete;
    ~Keyring();

    bool load(const std::vector<std::string> &private_key_files, std::string *error);
    // nullptr if `id` is none of the console's keys.
    const crypto::KeyPair *find(const snapshot::KeyId &id) const;

  private:
    std::map<snapshot::KeyId, crypto::KeyPair> keys_;
};

}  // namespace sonde::console
