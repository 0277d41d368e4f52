// Fuzzes segment validation: a segment file with arbitrary bytes (a corrupt or hostile
// /dev/shm entry) is either accepted as consistent or refused, and reading an accepted one
// never touches memory outside the mapping.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "reader/view.hpp"
#include "scratch.hpp"
#include "shm/segment.hpp"

namespace {

// A valid segment made once, and a copy of it that every input overlays from its first byte
// and that is restored afterwards: only the overlaid bytes are written per input, not the
// whole segment (a copy of several MB per input held this target to about 40 inputs/s).
struct Fixture {
    std::string path;
    std::string original;  // the valid segment's bytes
    int fd = -1;
};

const Fixture &fixture() {
    static const Fixture f = [] {
        using namespace sonde;
        Fixture f;
        const std::string dir = sonde::fuzz::scratch_dir("sonde-fuzz-seg-");
        shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
        FILE *in = std::fopen(r.mapping.path().c_str(), "rb");
        char buf[65536];
        size_t n;
        while (in && (n = std::fread(buf, 1, sizeof buf, in)) > 0) f.original.append(buf, n);
        if (in) std::fclose(in);
        f.path = dir + "/fuzzed";
        f.fd = ::open(f.path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (f.fd < 0 ||
            ::pwrite(f.fd, f.original.data(), f.original.size(), 0) != ssize_t(f.original.size()))
            __builtin_trap();
        return f;
    }();
    return f;
}

bool overlay(const Fixture &f, const void *bytes, size_t n) {
    return ::pwrite(f.fd, bytes, n, 0) == ssize_t(n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace sonde;
    // Start from a valid segment so the fuzzer explores past the magic check, then overlay.
    const Fixture &f = fixture();
    const size_t n = std::min(size, f.original.size());
    if (!overlay(f, data, n)) __builtin_trap();
    std::string error;
    if (auto view = reader::SegmentView::open(f.path, &error)) {
        volatile int64_t sink = 0;
        for (int64_t c : view->cells()) sink = sink + c;
        sink = sink + int64_t(view->users_used() + view->students_used() + view->rows_leased());
        sink = sink + int64_t(view->distribution(SONDE_TALLY_ABSENCE_HALF_DAY, 2026).total[0]);
        for (uint32_t l = 0; l < catalog::kLevelSlots; ++l)
            sink = sink + int64_t(view->level_label(l).size());
    } else if (error.empty()) {
        __builtin_trap();
    }
    if (!overlay(f, f.original.data(), n)) __builtin_trap();  // the next input starts valid
    return 0;
}
