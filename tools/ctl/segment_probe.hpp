#pragma once
// What `sonde-ctl status` finds in a segment directory, including the files that are not
// usable segments: ones the plugin set aside (*.bad.*) and temp files of creators that died
// while initialising (*.init.*).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sonde::ctl {

struct SegmentFile {
    enum class Kind { Segment, SetAside, InitTemp } kind;
    std::string name, path, base;
    uint64_t size = 0;
    int64_t mtime = 0;
};

// Files named sonde.<UAI>[.bad.*|.init.*], sorted by name; nullopt (and *error) if the
// directory cannot be read.
std::optional<std::vector<SegmentFile>> list_segment_files(const std::string &dir,
                                                           std::string *error);

// The header fields that mean the same in every layout version, plus the base id and product
// when the segment is of version 1 or 2. Read with pread, so even an incompatible file can be
// described.
struct HeaderProbe {
    bool magic_ok = false;
    uint32_t layout_version = 0;
    uint64_t schema_hash = 0, recorded_size = 0, generation = 0;
    int32_t creator_pid = 0;
    int64_t creator_start_unix_ns = 0;
    std::string base_id;   // versions 1 and 2 only
    uint32_t product = 0;  // versions 1 and 2 only
};
std::optional<HeaderProbe> probe_header(const std::string &path);

bool pid_alive(int32_t pid);

// What process `pid` is doing: "running", "stopped" (POSIX: SIGSTOP, a debugger; Windows
// cannot tell) or "gone" (exited, a zombie); nullptr when it cannot be told.
const char *process_state(int64_t pid);

}  // namespace sonde::ctl
