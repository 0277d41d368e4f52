// Fuzzes segment validation: a segment file with arbitrary bytes (a corrupt or hostile
// /dev/shm entry) is either accepted as consistent or refused, and reading an accepted one
// never touches memory outside the mapping.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "reader/view.hpp"
#include "shm/segment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace sonde;
    // Start from a valid header so the fuzzer explores past the magic check, then overlay.
    static const std::string dir = [] {
        char tmpl[] = "/tmp/sonde-fuzz-seg-XXXXXX";
        return std::string(::mkdtemp(tmpl));
    }();
    static const std::string valid_path = [] {
        shm::OpenResult r = shm::open_segment(dir, "0310001A", 1);
        return r.mapping.path();
    }();
    const std::string path = dir + "/fuzzed";
    FILE *in = std::fopen(valid_path.c_str(), "rb");
    FILE *out = std::fopen(path.c_str(), "wb");
    if (!in || !out) return 0;
    char buf[4096];
    size_t n, at = 0;
    while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) {
        for (size_t i = 0; i < n && at + i < size; ++i) buf[i] = char(data[at + i]);
        std::fwrite(buf, 1, n, out);
        at += n;
    }
    std::fclose(in);
    std::fclose(out);
    std::string error;
    if (auto view = reader::SegmentView::open(path, &error)) {
        volatile int64_t sink = 0;
        for (int64_t c : view->cells()) sink = sink + c;
        sink = sink + int64_t(view->users_used() + view->students_used() + view->rows_leased());
        sink = sink + int64_t(view->distribution(SONDE_TALLY_ABSENCE_HALF_DAY, 2026).total[0]);
        for (uint32_t l = 0; l < catalog::kLevelSlots; ++l)
            sink = sink + int64_t(view->level_label(l).size());
    } else if (error.empty()) {
        __builtin_trap();
    }
    return 0;
}
