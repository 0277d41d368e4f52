#include "sonde_host.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "core/config.hpp"

namespace sonde_bench {

namespace {

[[noreturn]] void die(const std::string &what) {
    std::fprintf(stderr, "sonde-bench: %s\n", what.c_str());
    std::exit(2);
}

std::filesystem::path make_temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sonde-bench.XXXXXX").string();
    if (!::mkdtemp(pattern.data())) die("mkdtemp: " + std::string(std::strerror(errno)));
    return pattern;
}

void enable(const std::filesystem::path &config_dir, const char *base_id) {
    std::random_device rd;
    sonde::BaseConfig config;
    config.enabled = true;
    config.secret = {(uint64_t(rd()) << 32 | rd()) | 1, uint64_t(rd()) << 32 | rd()};
    std::string error;
    if (!sonde::save_config(sonde::config_path(config_dir, base_id), config, &error)) die(error);
}

sonde_base *open_base(const sonde_api &api, const char *base_id, const std::filesystem::path &dir) {
    const std::string conf = (dir / "conf").string(), shm = (dir / "shm").string();
    sonde_open_params params{};
    params.struct_size = sizeof params;
    params.product = SONDE_PRODUCT_PRONOTE;
    params.base_id = base_id;
    params.config_dir = conf.c_str();
    params.shm_dir = shm.c_str();
    sonde_base *base = nullptr;
    if (int rc = api.base_open(&params, &base); rc < 0)
        die(std::string("base_open ") + base_id + ": " + api.strerror(rc));
    return base;
}

}  // namespace

SondeHost::SondeHost() : dir_(make_temp_dir()) {
    std::filesystem::create_directory(dir_ / "conf");
    std::filesystem::create_directory(dir_ / "shm");
    const char *env = std::getenv("SONDE_PLUGIN");
    const char *lib = env && *env ? env : SONDE_PLUGIN_PATH;
    so_ = ::dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!so_) die(std::string("dlopen: ") + ::dlerror());
    auto get_api = reinterpret_cast<sonde_get_api_fn>(::dlsym(so_, "sonde_get_api"));
    api_ = get_api ? get_api(SONDE_ABI_MAJOR, SONDE_ABI_MINOR) : nullptr;
    if (!api_) die(std::string(lib) + ": no compatible sonde_get_api");

    enable(dir_ / "conf", kEnabledBase);  // before base_open: the open reads it synchronously
    enabled_ = open_base(*api_, kEnabledBase, dir_);
    disabled_ = open_base(*api_, kDisabledBase, dir_);
    // The simulated calendar starts on day 0 and only moves forward (see simulated_time).
    api_->clock_set(enabled_, simulated_time(0));
    sonde_diagnostics d{};
    d.struct_size = sizeof d;
    if (api_->diagnostics(enabled_, &d) < 0 || !d.enabled) die("the enabled base does not record");
}

SondeHost::~SondeHost() {
    // Closing the last base stops the plugin's watcher thread; the library stays loaded.
    api_->base_close(enabled_);
    api_->base_close(disabled_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

sonde_writer *SondeHost::writer_for(sonde_base *base) const {
    sonde_writer *w = nullptr;
    if (int rc = api_->writer_get(base, &w); rc < 0)
        die(std::string("writer_get: ") + api_->strerror(rc));
    return w;
}

namespace {
std::mutex g_host_mu;
std::unique_ptr<SondeHost> g_host;
}  // namespace

SondeHost &host() {
    std::lock_guard lock(g_host_mu);
    if (!g_host) g_host = std::make_unique<SondeHost>();
    return *g_host;
}

void shutdown_host() {
    std::lock_guard lock(g_host_mu);
    g_host.reset();
}

// ---- the connection workload ------------------------------------------------------------

namespace {

struct ProfileMix {
    uint32_t profile;
    char letter;
    double share;                // of the users
    double client, web, mobile;  // medium shares for this profile
    double ent;                  // share of users who come through the ENT
    uint32_t min_visits, max_visits;
};

// Rough shape of a collège: mostly students and guardians on mobile, teachers on the client.
constexpr ProfileMix kMix[] = {
    {SONDE_PROFILE_STUDENT, 'E', 0.55, 0.00, 0.30, 0.70, 0.50, 1, 5},
    {SONDE_PROFILE_GUARDIAN, 'G', 0.30, 0.00, 0.40, 0.60, 0.30, 1, 3},
    {SONDE_PROFILE_SUPPORT_WORKER, 'A', 0.02, 0.00, 1.00, 0.00, 0.20, 1, 3},
    {SONDE_PROFILE_TEACHER, 'P', 0.08, 0.50, 0.30, 0.20, 0.20, 3, 8},
    {SONDE_PROFILE_STAFF, 'S', 0.04, 0.70, 0.30, 0.00, 0.10, 2, 6},
    {SONDE_PROFILE_OTHER, 'O', 0.01, 0.00, 1.00, 0.00, 0.00, 1, 2},
};

}  // namespace

UserPool::UserPool() : keys_(size_t(kUsers) * kKeyLen + 1) {
    std::mt19937_64 rng(20240902);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (uint32_t user = 0; user < kUsers; ++user) {
        double pick = u(rng);
        const ProfileMix *mix = &kMix[0];
        for (const ProfileMix &m : kMix) {
            mix = &m;
            if ((pick -= m.share) < 0) break;
        }
        std::snprintf(&keys_[size_t(user) * kKeyLen], kKeyLen + 1, "%c-%s-%06u", mix->letter,
                      SondeHost::kEnabledBase, user);
        const uint32_t access = u(rng) < mix->ent ? SONDE_ACCESS_ENT : SONDE_ACCESS_DIRECT;
        const uint32_t visits =
            std::uniform_int_distribution<uint32_t>(mix->min_visits, mix->max_visits)(rng);
        for (uint32_t v = 0; v < visits; ++v) {
            const double m = u(rng);
            const uint32_t medium = m < mix->client              ? SONDE_MEDIUM_CLIENT
                                    : m < mix->client + mix->web ? SONDE_MEDIUM_WEB
                                                                 : SONDE_MEDIUM_MOBILE;
            day_.push_back({user, mix->profile, medium, access});
        }
    }
    keys_.pop_back();  // snprintf's terminator
    std::shuffle(day_.begin(), day_.end(), rng);
}

const UserPool &user_pool() {
    static const UserPool pool;
    return pool;
}

int64_t simulated_time(uint64_t day) {
    constexpr int64_t kStart = 1725260400;  // 2024-09-02T07:00:00Z, a Monday
    constexpr uint64_t kWrapDays = 40 * 365;
    return kStart + int64_t(day % kWrapDays) * 86400;
}

}  // namespace sonde_bench
