#include "segment_probe.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>

#include "core/config.hpp"
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
    struct stat st {};
    if (::lstat(f.path.c_str(), &st) == 0) {
        f.size = uint64_t(st.st_size);
        f.mtime = int64_t(st.st_mtim.tv_sec);
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
    DIR *d = ::opendir(dir.c_str());
    if (!d) {
        *error = "cannot read " + dir + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::vector<SegmentFile> files;
    while (const dirent *e = ::readdir(d))
        if (auto f = classify(dir, e->d_name)) files.push_back(std::move(*f));
    ::closedir(d);
    std::sort(files.begin(), files.end(),
              [](const SegmentFile &a, const SegmentFile &b) { return a.name < b.name; });
    return files;
}

std::optional<HeaderProbe> probe_header(const std::string &path) {
    using shm::Header;
    // Never blocks (a FIFO squatted at the path) and reads regular files only.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return std::nullopt;
    }
    unsigned char bytes[sizeof(Header)] = {};
    const ssize_t n = ::pread(fd, bytes, sizeof bytes, 0);
    ::close(fd);
    if (n < ssize_t(offsetof(Header, ready))) return std::nullopt;

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
        n >= ssize_t(offsetof(Header, product) + sizeof(uint32_t))) {
        const char *id = reinterpret_cast<const char *>(bytes + offsetof(Header, base_id));
        p.base_id.assign(id, strnlen(id, sizeof Header::base_id));
        p.product = field<uint32_t>(bytes, offsetof(Header, product));
    }
    return p;
}

bool pid_alive(int32_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace sonde::ctl
