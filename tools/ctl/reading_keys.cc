#include "reading_keys.hpp"

#include <sstream>

namespace sonde::ctl {

bool load_reading_keys(const std::string &key_path, const std::string &trust_list,
                       snapshot::OpenParams &params, std::string *error) {
    if (!snapshot::load_key_pair(key_path, params.recipient, error)) return false;
    std::stringstream in(trust_list);
    for (std::string path; std::getline(in, path, ',');) {
        if (path.empty()) continue;
        snapshot::PublicKey pub;
        if (!snapshot::load_public_key(path, pub, error)) return false;
        params.trusted_senders[snapshot::key_id(pub)] = pub;
    }
    return true;
}

}  // namespace sonde::ctl
