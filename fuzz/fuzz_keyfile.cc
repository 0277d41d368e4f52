// Fuzzes the key-file reader (snapshot/keys.cc): the console's private keys, the servers'
// public keys an operator imports (sonde-console keys import), and the shipper's own key. A
// file is accepted only if it is well formed and its key-id and public key agree; anything else
// is refused with a reason, never a crash.
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "crypto/hpke.hpp"
#include "scratch.hpp"
#include "snapshot/keys.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const std::string path = sonde::fuzz::scratch_dir("sonde-fuzz-keyfile-") + "/fuzzed.key";
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    ::chmod(path.c_str(), 0600);  // a private key's mode: the content decides

    using namespace sonde::snapshot;
    std::string error;
    sonde::crypto::KeyPair pair{};
    if (load_key_pair(path, pair, &error)) {
        // Loaded: the public half must be the private key's, as the reader promises.
        std::array<uint8_t, 32> pk{};
        if (sonde::crypto::public_from_private(pair.private_key, pk) !=
                sonde::crypto::Error::None ||
            pk != pair.public_key)
            __builtin_trap();
        wipe(pair);
    } else if (error.empty()) {
        __builtin_trap();
    }
    error.clear();
    PublicKey pub{};
    std::vector<std::string> bases;
    if (!load_public_key(path, pub, &error, &bases) && error.empty()) __builtin_trap();
    return 0;
}
