#pragma once
// The key registry: which sender keys may upload for which base (docs/delivery.md#enrolment-
// revocation-and-rotation-of-sender-keys). Files, so the running service sees a change at the
// next upload without a restart:
//     DATA/keys/<UAI>/<key id>.pub           registered
//     DATA/keys/<UAI>/revoked/<key id>.pub   revoked: no new upload; files already held still open

#include <string>
#include <vector>

#include "snapshot/keys.hpp"

namespace sonde::console {

class KeyRegistry {
  public:
    explicit KeyRegistry(std::string data_dir);

    // The key `id` registered for `base`; with include_revoked, a revoked one too.
    bool lookup(const std::string &base, const snapshot::KeyId &id, snapshot::PublicKey &out,
                bool include_revoked) const;

    // Whether `base` was ever enrolled (it has a directory of keys, registered or revoked).
    bool enrolled(const std::string &base) const;

    // Registers the public key of `public_key_file` for `base`; `id_hex` receives its id. When it
    // fails because that key is already registered for `base`, *already_registered is set.
    bool add(const std::string &base, const std::string &public_key_file, std::string &id_hex,
             std::string *error, bool *already_registered = nullptr);
    bool revoke(const std::string &base, const std::string &id_hex, std::string *error);

    struct Entry {
        std::string base, id_hex;
        bool revoked;
    };
    std::vector<Entry> list() const;

  private:
    std::string dir_;
};

}  // namespace sonde::console
