#include "reading_keys.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

namespace sonde::ctl {

bool load_reading_keys(const std::string &key_path, const std::string &trust_list,
                       snapshot::OpenParams &params, std::string *error) {
    if (!snapshot::load_key_pair(key_path, params.recipient, error)) return false;
    std::stringstream in(trust_list);
    for (std::string entry; std::getline(in, entry, ',');) {
        if (entry.empty()) continue;
        // UAI=FILE names the base; a bare FILE must name its bases itself (its `bases` line).
        std::string base, path = entry;
        if (entry.size() > 9 && entry[8] == '=' &&
            snapshot::valid_base_id(std::string_view(entry).substr(0, 8))) {
            base = entry.substr(0, 8);
            path = entry.substr(9);
        }
        snapshot::PublicKey pub;
        std::vector<std::string> bases;
        if (!snapshot::load_public_key(path, pub, error, &bases)) return false;
        if (!base.empty()) {
            if (!bases.empty() && std::find(bases.begin(), bases.end(), base) == bases.end()) {
                if (error)
                    *error = path + " is the key of other bases than " + base +
                             " (its bases line); refusing to trust it for " + base;
                return false;
            }
            bases = {base};
        }
        if (bases.empty()) {
            if (error)
                *error = path + " names no base: give --trust UAI=" + path +
                         " for each base it seals for, or write its bases line with "
                         "`sonde-ctl keygen --base`";
            return false;
        }
        for (const std::string &b : bases) snapshot::trust_sender(params, pub, b);
    }
    return true;
}

}  // namespace sonde::ctl
