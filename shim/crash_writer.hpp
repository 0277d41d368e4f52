#pragma once
// A writer process of the crash scenario: records counts and connections as fast as it can,
// journaling each call, until the driver kills it or says stop.

#include <cstdint>
#include <string>

#include "crash_journal.hpp"
#include "options.hpp"

namespace sonde::shim {

struct CrashWriter {
    std::string lib, config_dir, shm_dir, uai;
    int64_t clock;  // simulated instant all writers record at
    uint64_t seed;  // this incarnation's call sequence
    Journal *journal;
    const CrashControl *control;
    const std::atomic<bool> *orphaned = nullptr;  // set when the driver is gone
};

int run_crash_writer(const CrashWriter &w);

// --role crash-writer: incarnation `host_index` of base `host_base`, its journal at
// `arena_offset` in `arena` (the control block at its start), recording at `clock`. It also
// stops when its stdin ends (the driver is gone).
int run_crash_writer_role(const Options &options);

std::string crash_user_key(const std::string &uai, uint32_t user);  // "C-0310001A-000042"

}  // namespace sonde::shim
