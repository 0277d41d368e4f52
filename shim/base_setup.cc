#include "base_setup.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "platform/process.hpp"
#include "rng.hpp"
#include "shm/segment.hpp"

namespace sonde::shim {

std::optional<Dirs> prepare_dirs(const Options &options, std::string *error) {
    Dirs dirs{options.config_dir, options.shm_dir, {}};
    std::error_code ec;
    const std::filesystem::path temp = std::filesystem::temp_directory_path(ec);
    for (int attempt = 0; dirs.scratch.empty(); ++attempt) {  // mkdtemp, on every system
        uint64_t r = 0;
        if (ec || attempt == 100 || !platform::random_bytes(&r, sizeof r)) {
            *error = "cannot create a folder in the temporary folder " + temp.generic_string();
            return std::nullopt;
        }
        char name[40];
        std::snprintf(name, sizeof name, "sonde-shim.%016llx", static_cast<unsigned long long>(r));
        if (std::filesystem::create_directory(temp / name, ec))
            dirs.scratch = (temp / name).generic_string();
        ec.clear();
    }
    if (dirs.config_dir.empty()) dirs.config_dir = dirs.scratch + "/conf";
    if (dirs.shm_dir.empty()) dirs.shm_dir = dirs.scratch + "/shm";
    for (const std::string &d : {dirs.config_dir, dirs.shm_dir}) {
        std::filesystem::create_directories(d, ec);
        if (ec) {
            *error = d + ": " + ec.message();
            return std::nullopt;
        }
    }
    return dirs;
}

std::optional<BaseConfig> prepare_config(const std::string &config_dir, const std::string &uai,
                                         uint64_t seed, const std::string &timezone,
                                         std::string *note, std::string *error) {
    const std::string path = config_path(config_dir, uai);
    BaseConfig config;
    switch (load_config(path, config, error)) {
        case ConfigLoad::Malformed:
            return std::nullopt;
        case ConfigLoad::Ok:
            if (config.enabled) {
                *note = "kept " + path;
                return config;
            }
            break;
        case ConfigLoad::Missing:
            break;
    }
    // A seeded secret keeps runs reproducible; real bases get a random one from sonde-ctl.
    uint64_t s = mix(seed, 0x53454352ULL);
    for (char c : uai) s = mix(s, uint8_t(c));
    config.enabled = true;
    config.secret = {splitmix64(s), splitmix64(s)};
    config.timezone = timezone.empty() ? "Europe/Paris" : timezone;
    config.school_year_start = {};
    if (!save_config(path, config, error)) return std::nullopt;
    *note = "wrote " + path;
    return config;
}

bool remove_stale_segment(const std::string &shm_dir, const std::string &uai) {
    std::error_code ec;
    return std::filesystem::remove(shm::segment_path(shm_dir, uai), ec);
}

}  // namespace sonde::shim
