// Time and size of a 15-minute snapshot of a 1,500-student school after a simulated week:
// building (segment -> model), policy, protobuf encoding, zstd and HPKE sealing.
//
// The week is recorded through the real plugin (dlopen, C ABI), then the shipper's own code
// builds snapshots from the live segment. CPU time is per snapshot (CLOCK_PROCESS_CPUTIME_ID),
// median of the runs; sizes are exact.
//
//   sonde-snapshot-bench [PAYLOAD_OUT]
// With PAYLOAD_OUT, also writes the measured snapshot's serialized protobuf (after the policy,
// before sealing) there: the template sonde-console-load seals for its simulated bases.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "reader/view.hpp"
#include "ship/builder.hpp"
#include "ship/policy.hpp"
#include "ship/spool.hpp"
#include "shm/segment.hpp"
#include "snapshot/envelope.hpp"
#include "snapshot/keys.hpp"
#include "snapshot/wire.hpp"
#include "sonde.h"

namespace {

struct Rng {  // splitmix64: deterministic, seedable
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    uint32_t below(uint32_t n) { return uint32_t(next() % n); }
};

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char **argv) {
    constexpr int kStudents = 1500, kGuardians = 2700, kTeachers = 110, kStaff = 30, kSupport = 15;
    constexpr int64_t kMonday = 1795215600;  // 2026-11-23 00:00 Europe/Paris
    char tmpl[] = "/tmp/sonde-snapbench-XXXXXX";
    const std::string dir = mkdtemp(tmpl), conf = dir + "/conf", shm = dir + "/shm";
    std::system(("mkdir -p " + conf + " " + shm).c_str());
    // The base ships every 15 minutes during the week, as in production: that is what takes
    // the latches the measured snapshot is built from.
    std::system(("mkdir -p " + dir + "/spool").c_str());
    sonde::crypto::KeyPair server, console;
    std::string error;
    if (!sonde::snapshot::generate_key_file(dir + "/server.key", server, &error) ||
        !sonde::snapshot::generate_key_file(dir + "/console.key", console, &error))
        return std::fprintf(stderr, "%s\n", error.c_str()), 1;
    sonde::BaseConfig config;
    config.enabled = true;
    config.secret = {7, 9};
    config.snapshots.spool_dir = dir + "/spool";
    config.snapshots.sender_key = dir + "/server.key";
    config.snapshots.console_public_key = dir + "/console.key";
    sonde::save_config(conf + "/0310001A.conf", config, nullptr);

    void *so = dlopen(SONDE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!so) return std::fprintf(stderr, "%s\n", dlerror()), 1;
    const sonde_api *api = reinterpret_cast<sonde_get_api_fn>(dlsym(so, "sonde_get_api"))(1, 0);
    sonde_open_params p{};
    p.struct_size = sizeof p;
    p.product = SONDE_PRODUCT_PRONOTE;
    p.base_id = "0310001A";
    p.config_dir = conf.c_str();
    p.shm_dir = shm.c_str();
    sonde_base *base = nullptr;
    sonde_writer *w = nullptr;
    if (api->base_open(&p, &base) != SONDE_OK || api->writer_get(base, &w) != SONDE_OK) return 1;
    const char *levels[] = {"6EME",       "5EME",       "4EME",       "3EME",
                            "6EME SEGPA", "5EME SEGPA", "4EME SEGPA", "3EME SEGPA"};
    api->clock_set(base, kMonday);
    for (int i = 0; i < 100 && api->clock_set(base, kMonday) == SONDE_OK;
         ++i) {  // wait for the config
        sonde_diagnostics d{};
        d.struct_size = sizeof d;
        api->diagnostics(base, &d);
        if (d.enabled) break;
        struct timespec ts {
            0, 20000000
        };
        nanosleep(&ts, nullptr);
    }
    for (uint32_t l = 0; l < 8; ++l) {
        api->level_declare(base, l + 1, levels[l]);
        api->gauge_set(base, SONDE_GAUGE_STUDENTS_ENROLLED, l + 1, l < 4 ? 360 : 15);
        api->gauge_set(base, SONDE_GAUGE_CLASSES, l + 1, l < 4 ? 13 : 1);
        api->gauge_set(base, SONDE_GAUGE_STUDENTS_HALF_BOARD, l + 1, l < 4 ? 250 : 10);
    }
    for (uint32_t g = 1; g < SONDE_GAUGE_END_; ++g)
        if (g != SONDE_GAUGE_STUDENTS_ENROLLED) api->gauge_set(base, g, 0, 10 + g);

    // A week: per hour, connections of every population at realistic rates, school events.
    Rng rng{42};
    char key[32];
    auto connect = [&](char kind, int n, uint32_t profile, uint32_t medium) {
        const int len = std::snprintf(key, sizeof key, "%c-%06d", kind, n);
        api->connection(w, profile, medium,
                        rng.below(100) < 35 ? SONDE_ACCESS_ENT : SONDE_ACCESS_DIRECT, key,
                        size_t(len));
    };
    for (int day = 0; day < 7; ++day) {
        const bool school_day = day < 5 && day != 2;  // Wednesday afternoon and weekend are quiet
        for (int hour = 0; hour < 24; ++hour) {
            api->clock_set(base, kMonday + day * 86400 + hour * 3600);
            const double load = hour < 7    ? 0.02
                                : hour < 9  ? 1.0
                                : hour < 12 ? 0.5
                                : hour < 14 ? 0.9
                                : hour < 17 ? 0.5
                                : hour < 22 ? 1.2
                                            : 0.2;
            const double scale = school_day ? load : load * 0.3;
            for (int i = 0; i < int(kGuardians * 2.0 / 10.0 * scale); ++i)
                connect('G', int(rng.below(kGuardians)), SONDE_PROFILE_GUARDIAN,
                        rng.below(100) < 60 ? SONDE_MEDIUM_MOBILE : SONDE_MEDIUM_WEB);
            for (int i = 0; i < int(kStudents * 1.0 / 10.0 * scale); ++i)
                connect('E', int(rng.below(kStudents)), SONDE_PROFILE_STUDENT,
                        rng.below(100) < 65 ? SONDE_MEDIUM_MOBILE : SONDE_MEDIUM_WEB);
            for (int i = 0; i < int(kTeachers * 4.0 / 10.0 * scale); ++i)
                connect('T', int(rng.below(kTeachers)), SONDE_PROFILE_TEACHER,
                        rng.below(100) < 70 ? SONDE_MEDIUM_CLIENT : SONDE_MEDIUM_WEB);
            for (int i = 0; i < int(kStaff * 3.0 / 10.0 * scale); ++i)
                connect('S', int(rng.below(kStaff)), SONDE_PROFILE_STAFF, SONDE_MEDIUM_CLIENT);
            for (int i = 0; i < int(kSupport * 1.0 / 10.0 * scale); ++i)
                connect('A', int(rng.below(kSupport)), SONDE_PROFILE_SUPPORT_WORKER,
                        SONDE_MEDIUM_WEB);
            for (int i = 0; i < int(300 * scale); ++i)
                api->count(w, 1 + rng.below(SONDE_EV_END_ - 1), 1 + rng.below(8), 1);
            for (int i = 0; i < int(20 * scale); ++i) {
                const int len = std::snprintf(key, sizeof key, "E-%06d", int(rng.below(kStudents)));
                api->student(w, 1 + rng.below(SONDE_TALLY_END_ - 1), key, size_t(len),
                             1 + rng.below(8), 1);
            }
        }
    }
    const int64_t now = kMonday + 6 * 86400 + 20 * 3600 + 15 * 60;  // Sunday 20:15
    api->clock_set(base, now);

    auto view = sonde::reader::SegmentView::open(sonde::shm::segment_path(shm, "0310001A"), &error,
                                                 sonde::shm::Access::ReadWrite);
    if (!view) return std::fprintf(stderr, "%s\n", error.c_str()), 1;
    const auto tz = *sonde::time::TimeZone::load("Europe/Paris", &error);

    // The latches a shipper would have taken during the week.
    sonde::ship::BuildRequest req{&*view, &tz, "Europe/Paris", {}, now, now - 3600 - 15 * 60, 1};
    std::vector<double> times, build_times, encode_times;
    size_t serialized = 0, sealed = 0, values = 0, distinct = 0;
    std::vector<uint8_t> payload;
    for (int run = 0; run < 50; ++run) {
        const double t0 = cpu_seconds();
        sonde::snapshot::Snapshot s = sonde::ship::build_snapshot(req);
        const double t1 = cpu_seconds();
        sonde::ship::apply_policy(s, {5, false});
        std::vector<uint8_t> bytes, file;
        sonde::snapshot::encode(s, bytes);
        const double t2 = cpu_seconds();
        build_times.push_back(t1 - t0);
        encode_times.push_back(t2 - t1);
        sonde::snapshot::SealParams seal;
        seal.recipient_public = console.public_key;
        seal.sender = server;
        seal.base_id = "0310001A";
        seal.sequence = 1;
        seal.created_unix = now;
        seal.compression_level = 3;  // as the shipper does
        s.sequence = 1;
        s.created_unix = now;
        if (!sonde::snapshot::seal_snapshot(s, seal, file, &error))
            return std::fprintf(stderr, "%s\n", error.c_str()), 1;
        times.push_back(cpu_seconds() - t0);
        serialized = bytes.size();
        payload = bytes;
        sealed = file.size();
        values = s.values.size();
        distinct = s.distinct.size();
    }
    if (argc > 1) {
        FILE *out = std::fopen(argv[1], "wb");
        if (!out || std::fwrite(payload.data(), 1, payload.size(), out) != payload.size() ||
            std::fclose(out) != 0)
            return std::fprintf(stderr, "cannot write %s\n", argv[1]), 1;
    }
    std::sort(times.begin(), times.end());
    std::sort(build_times.begin(), build_times.end());
    std::sort(encode_times.begin(), encode_times.end());
    sonde_diagnostics d{};
    d.struct_size = sizeof d;
    api->diagnostics(base, &d);
    std::printf(
        "| snapshot of a 1,500-student school, Sunday 20:15 after a week | value |\n|---|---:|\n");
    std::printf("| distinct users in the table | %u |\n", d.users_used);
    std::printf("| students with tallies | %u |\n", d.students_used);
    std::printf("| figures (values / distinct) | %zu / %zu |\n", values, distinct);
    std::printf("| serialized protobuf | %zu bytes |\n", serialized);
    std::printf("| sealed file (zstd + HPKE) | %zu bytes (%.1f KiB) |\n", sealed,
                double(sealed) / 1024);
    std::printf("| CPU per snapshot, median of 50 (build+policy+encode+zstd+seal) | %.3f ms |\n",
                times[times.size() / 2] * 1e3);
    std::printf("| of which: build (segment -> figures) | %.3f ms |\n",
                build_times[build_times.size() / 2] * 1e3);
    std::printf("| of which: policy + protobuf encoding | %.3f ms |\n",
                encode_times[encode_times.size() / 2] * 1e3);
    std::printf("| CPU per snapshot, max | %.3f ms |\n", times.back() * 1e3);
    // What the plugin itself spooled during the week (one file per 15 minutes).
    sonde::ship::Spool spool(dir + "/spool", "0310001A");
    size_t files = 0, biggest = 0, total = 0;
    for (const auto &f : spool.pending()) {
        FILE *fp = std::fopen(f.path.c_str(), "rb");
        std::fseek(fp, 0, SEEK_END);
        const size_t size = size_t(std::ftell(fp));
        std::fclose(fp);
        ++files;
        total += size;
        biggest = std::max(biggest, size);
    }
    std::printf(
        "| spooled by the plugin during the week | %zu files, largest %zu bytes, mean %zu bytes "
        "|\n",
        files, biggest, files ? total / files : 0);
    std::printf("| snapshots written / errors (diagnostics) | %llu / %llu |\n",
                static_cast<unsigned long long>(d.snapshots_written),
                static_cast<unsigned long long>(d.snapshot_errors));
    api->base_close(base);
    return 0;
}
