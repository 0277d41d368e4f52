#include "segment_probe.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>

#include "core/config.hpp"
#include "platform/files.hpp"
#include "platform/process.hpp"
#include "platform/read_file.hpp"
#include "shm/layout.hpp"

namespace sonde::ctl {
namespace {

std::optional<SegmentFile> classify(const std::string &dir, const std::string &name) {
    constexpr std::string_view prefix = "sonde.";
    if (name.size() < prefix.size() + 8 || name.compare(0, prefix.size(), prefix) != 0)
        return std::nullopt;
    const std::string base = name.substr(prefix.size(), 8);
    if (!valid_base_id(base.c_str())) return std::nullopt;
    const std::string rest = name.substr(prefix.size() + 8);
    SegmentFile f{SegmentFile::Kind::Segment, name, dir + "/" + name, base};
    if (rest.empty())
        f.kind = SegmentFile::Kind::Segment;
    else if (rest.starts_with(".bad."))
        f.kind = SegmentFile::Kind::SetAside;
    else if (rest.starts_with(".init."))
        f.kind = SegmentFile::Kind::InitTemp;
    else
        return std::nullopt;
    platform::FileInfo st;
    if (platform::path_info(f.path, st)) {
        f.size = st.size;
        f.mtime = st.modified_unix;
    }
    return f;
}

template <typename T>
T field(const unsigned char *bytes, size_t offset) {
    T value;
    std::memcpy(&value, bytes + offset, sizeof value);
    return value;
}

}  // namespace

std::optional<std::vector<SegmentFile>> list_segment_files(const std::string &dir,
                                                           std::string *error) {
    std::vector<std::string> names;
    if (!platform::list_directory(dir, names)) {
        *error = "cannot read " + dir + ": " + platform::error_text(errno);
        return std::nullopt;
    }
    std::vector<SegmentFile> files;
    for (const std::string &name : names)
        if (auto f = classify(dir, name)) files.push_back(std::move(*f));
    std::sort(files.begin(), files.end(),
              [](const SegmentFile &a, const SegmentFile &b) { return a.name < b.name; });
    return files;
}

std::optional<HeaderProbe> probe_header(const std::string &path) {
    using shm::Header;
    // Never blocks (a FIFO squatted at the path) and reads regular files only.
    platform::File file =
        platform::File::open(path, platform::kRead | platform::kNoFollow | platform::kNonBlock);
    if (!file) return std::nullopt;
    platform::FileInfo st;
    if (!file.info(st) || st.kind != platform::FileKind::Regular) return std::nullopt;
    unsigned char bytes[sizeof(Header)] = {};
    const int64_t n = file.read_at(bytes, sizeof bytes, 0);
    file.close();
    if (n < int64_t(offsetof(Header, ready))) return std::nullopt;

    HeaderProbe p;
    p.magic_ok = field<uint64_t>(bytes, offsetof(Header, magic)) == shm::kMagic &&
                 field<uint32_t>(bytes, offsetof(Header, byte_order)) == shm::kByteOrderMark;
    if (!p.magic_ok) return p;
    p.layout_version = field<uint32_t>(bytes, offsetof(Header, layout_version));
    p.schema_hash = field<uint64_t>(bytes, offsetof(Header, schema_hash));
    p.recorded_size = field<uint64_t>(bytes, offsetof(Header, size));
    p.creator_pid = field<int32_t>(bytes, offsetof(Header, creator_pid));
    p.creator_start_unix_ns = field<int64_t>(bytes, offsetof(Header, creator_start_unix_ns));
    p.generation = field<uint64_t>(bytes, offsetof(Header, generation));
    // base_id and product sit at the same offsets in layout versions 1 to 3.
    if (p.layout_version >= 1 && p.layout_version <= shm::kLayoutVersion &&
        n >= int64_t(offsetof(Header, product) + sizeof(uint32_t))) {
        const char *id = reinterpret_cast<const char *>(bytes + offsetof(Header, base_id));
        p.base_id.assign(id, strnlen(id, sizeof Header::base_id));
        p.product = field<uint32_t>(bytes, offsetof(Header, product));
    }
    return p;
}

bool pid_alive(int32_t pid) {
    // Any process with this pid (POSIX kill(pid, 0); Windows OpenProcess): a pid reused since
    // reads as alive, as before; the liveness checks that matter use the start time.
    if (pid <= 0) return false;
    uint64_t start = 0;
    return platform::process_start(pid, start) || errno == EACCES;
}

const char *process_state(int64_t pid) {
    if (pid <= 0 || pid > INT32_MAX) return "gone";
#ifdef _WIN32
    uint64_t start = 0;
    if (!platform::process_start(platform::Pid(pid), start))
        return errno == EACCES ? nullptr : "gone";
    switch (platform::process_liveness(platform::Pid(pid), uint32_t(start))) {
        case platform::Liveness::Alive:
            return "running";
        case platform::Liveness::Dead:
            return "gone";
        default:
            return nullptr;
    }
#else
    // Field 3 of /proc/<pid>/stat, after the command name's last ')'.
    std::string text;
    const platform::ReadResult r = platform::read_file("/proc/" + std::to_string(pid) + "/stat",
                                                       4096, text, {.special_files = true});
    if (!r) return r.error == platform::ReadError::Missing ? "gone" : nullptr;
    const size_t paren = text.rfind(')');
    if (paren == std::string::npos || paren + 2 >= text.size()) return nullptr;
    const char state = text[paren + 2];
    return state == 'T' || state == 't' ? "stopped" : state == 'Z' ? "gone" : "running";
#endif
}

}  // namespace sonde::ctl
