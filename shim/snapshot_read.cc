#include "snapshot_read.hpp"

#include <fstream>
#include <iterator>
#include <vector>

#include "ship/spool.hpp"
#include "snapshot/console.hpp"

namespace sonde::shim {
namespace {

constexpr size_t kKeySample = 300;

std::vector<uint8_t> read_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

std::vector<std::string> sample_keys(std::span<const std::string> keys) {
    std::vector<std::string> out;
    const size_t step = keys.size() / kKeySample + 1;
    for (size_t i = 0; i < keys.size(); i += step) out.push_back(keys[i]);
    return out;
}

}  // namespace

SpoolRead read_spool(CheckLog &log, const std::string &uai, const SnapshotChannel &channel,
                     const crypto::KeyPair &console, std::span<const std::string> user_keys,
                     snapshot::IngestStore &store) {
    SpoolRead r;
    snapshot::OpenParams params;
    params.recipient = console;
    params.trusted_senders[snapshot::key_id(channel.server)] = channel.server;
    const std::vector<std::string> sample = sample_keys(user_keys);
    r.keys_sampled = sample.size();
    uint64_t leaked = 0;
    for (const ship::SpoolEntry &e : ship::Spool(channel.spool_dir, uai).pending()) {
        const std::vector<uint8_t> bytes = read_bytes(e.path);
        ++r.files;
        r.bytes += bytes.size();
        snapshot::v1::Snapshot s;
        snapshot::Header header;
        std::string error;
        const snapshot::OpenError rc = snapshot::open_snapshot(bytes, params, s, header, &error);
        log.expect(uai, "snapshot " + e.path + " opens (" + error + ")", 1,
                   rc == snapshot::OpenError::None);
        if (rc != snapshot::OpenError::None) continue;
        ++r.opened;
        if (r.first_sequence == 0 || s.sequence() < r.first_sequence)
            r.first_sequence = s.sequence();
        r.last_sequence = std::max<uint64_t>(r.last_sequence, s.sequence());
        const std::string plain = s.SerializeAsString();
        r.plaintext_bytes += plain.size();
        for (const std::string &key : sample) leaked += plain.find(key) != std::string::npos;
        store.ingest(s);
    }
    log.expect(uai, "snapshot files in the spool", 1, r.files > 0);
    log.expect(uai, "user keys found in snapshot plaintexts", 0, int64_t(leaked));
    return r;
}

}  // namespace sonde::shim
