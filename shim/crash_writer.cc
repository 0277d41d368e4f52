#include "crash_writer.hpp"

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "cells.hpp"
#include "platform/process.hpp"
#include "plugin.hpp"
#include "rng.hpp"
#include "school.hpp"
#include "shared_arena.hpp"

namespace sonde::shim {

std::string crash_user_key(const std::string &uai, uint32_t user) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "C-%s-%06u", uai.c_str(), user);
    return buf;
}

namespace {

constexpr int64_t kDeltas[] = {1, 1, 1, 1, 2, 3, 7, -1};  // -1: a correction
constexpr uint32_t kLevels = 5;                           // 0 (unspecified) and 4 class levels

// Journals one call around `call`: pending first, committed after (see crash_journal.hpp).
template <typename Call>
void journaled(Journal &j, uint32_t cell, int64_t delta, uint32_t user, Call &&call) {
    const int64_t before = j.committed[cell].load(std::memory_order_relaxed);
    j.pending_cell.store(cell, std::memory_order_relaxed);
    j.pending_delta.store(delta, std::memory_order_relaxed);
    j.pending_before.store(before, std::memory_order_relaxed);
    j.pending_user.store(user, std::memory_order_relaxed);
    j.pending.store(1, std::memory_order_release);
    const int rc = call();
    if (rc == SONDE_OK) {
        j.committed[cell].store(before + delta, std::memory_order_relaxed);
        if (user != kNoUser) {
            j.users[user / 64].fetch_or(uint64_t{1} << (user % 64), std::memory_order_relaxed);
            j.connections.fetch_add(1, std::memory_order_relaxed);
        }
    } else if (j.failed.fetch_add(1, std::memory_order_relaxed) == 0) {
        j.first_failure.store(rc, std::memory_order_relaxed);
    }
    j.calls.fetch_add(1, std::memory_order_relaxed);
    j.pending.store(0, std::memory_order_release);
}

}  // namespace

int run_crash_writer(const CrashWriter &w) {
    Journal &j = *w.journal;
    const int pid = int(platform::current_pid());
    j.pid.store(int32_t(pid), std::memory_order_relaxed);
    std::string error;
    auto plugin = Plugin::load(w.lib, &error);
    auto base =
        plugin ? open_host_base(*plugin, w.uai, w.config_dir, w.shm_dir, &error) : std::nullopt;
    if (!base) {
        std::fprintf(stderr, "[%s crash writer %d] %s\n", w.uai.c_str(), pid, error.c_str());
        return 3;
    }
    const sonde_api &api = plugin->api();
    api.clock_set(base->base, w.clock);
    std::vector<std::string> keys;
    for (uint32_t u = 0; u < kCrashUsers; ++u) keys.push_back(crash_user_key(w.uai, u));
    Rng rng(w.seed);
    j.state.store(kRecording, std::memory_order_release);

    while (!w.control->stop.load(std::memory_order_acquire) &&
           !(w.orphaned && w.orphaned->load(std::memory_order_relaxed))) {
        if (rng.chance(0.75)) {
            const uint32_t event = 1 + rng.below(catalog::kEventCount);
            const uint32_t level = rng.below(kLevels);
            const int64_t delta = kDeltas[rng.below(std::size(kDeltas))];
            journaled(j, event_cell(event, level), delta, kNoUser,
                      [&] { return api.count(base->writer, event, level, delta); });
        } else {
            const uint32_t profile = 1 + rng.below(catalog::kProfiles);
            const uint32_t medium = 1 + rng.below(catalog::kMedia);
            const uint32_t access = 1 + rng.below(catalog::kAccesses);
            const uint32_t user = rng.below(kCrashUsers);
            const std::string &key = keys[user];
            journaled(j, connection_cell(profile, medium, access), 1, user, [&] {
                return api.connection(base->writer, profile, medium, access, key.data(),
                                      key.size());
            });
        }
    }
    close_host_base(*plugin, *base);
    j.state.store(kFinished, std::memory_order_release);
    return 0;
}

int run_crash_writer_role(const Options &o) {
    SharedArena arena = SharedArena::open(o.arena);
    if (o.arena_offset < sizeof(CrashControl) || o.arena_offset % alignof(Journal) != 0 ||
        o.arena_offset + sizeof(Journal) > arena.size()) {
        std::fprintf(stderr, "crash writer: no journal at %llu in the arena\n",
                     static_cast<unsigned long long>(o.arena_offset));
        return 3;
    }
    // The driver's end of stdin closes when it dies (a test timeout): stop then, as its
    // SIGKILL would have stopped a forked writer. The thread is left blocked in its read.
    static std::atomic<bool> orphaned{false};
    std::thread([] {
        while (std::fgetc(stdin) != EOF) {
        }
        orphaned.store(true, std::memory_order_relaxed);
    }).detach();
    CrashWriter w{o.lib,
                  o.config_dir,
                  o.shm_dir,
                  uai_of(o.host_base),
                  o.clock,
                  mix(mix(o.seed, o.host_base), o.host_index),
                  reinterpret_cast<Journal *>(arena.data() + o.arena_offset),
                  reinterpret_cast<const CrashControl *>(arena.data()),
                  &orphaned};
    return run_crash_writer(w);
}

}  // namespace sonde::shim
