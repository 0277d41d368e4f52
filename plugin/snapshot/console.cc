#include "snapshot/console.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "catalog_layout.hpp"

namespace sonde::snapshot {
namespace {

OpenError refuse(OpenError why, std::string *error, const std::string &text) {
    if (error) *error = std::string(open_error_name(why)) + ": " + text;
    return why;
}

std::string hash_text(uint64_t h) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%016llX", static_cast<unsigned long long>(h));
    return text;
}

// Top-level fields of Snapshot (sonde_snapshot.proto) that are figures.
bool is_figure_field(uint64_t field) {
    return field == 9 || field == 10 || field == 11 || field == 12 || field == 13 || field == 14;
}

bool read_varint(std::span<const uint8_t> b, size_t &at, uint64_t &v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (at >= b.size()) return false;
        const uint8_t byte = b[at++];
        v |= uint64_t(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return true;
    }
    return false;
}

// Counts the figures of a serialized Snapshot without building anything; false when the bytes
// are not a well-formed sequence of fields (the parse would refuse them too).
bool count_figures(std::span<const uint8_t> b, size_t &figures) {
    figures = 0;
    size_t at = 0;
    while (at < b.size()) {
        uint64_t tag = 0, n = 0;
        if (!read_varint(b, at, tag)) return false;
        switch (tag & 7) {
            case 0:
                if (!read_varint(b, at, n)) return false;
                break;
            case 1:
                if (b.size() - at < 8) return false;
                at += 8;
                break;
            case 2:
                if (!read_varint(b, at, n) || n > b.size() - at) return false;
                at += size_t(n);
                break;
            case 5:
                if (b.size() - at < 4) return false;
                at += 4;
                break;
            default:  // groups (3, 4) are not in the schema; 6 and 7 do not exist
                return false;
        }
        figures += is_figure_field(tag >> 3);
    }
    return true;
}

}  // namespace

OpenError parse_snapshot(std::span<const uint8_t> bytes, v1::Snapshot &out, std::string *error,
                         size_t max_figures) {
    out.Clear();
    size_t figures = 0;
    if (!count_figures(bytes, figures))
        return refuse(OpenError::BadPayload, error, "the payload is not a Snapshot message");
    if (figures > max_figures)
        return refuse(OpenError::TooLarge, error,
                      std::to_string(figures) + " figures, more than the " +
                          std::to_string(max_figures) + " a snapshot can hold");
    if (bytes.size() > size_t(INT32_MAX) ||
        !out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        out.Clear();
        return refuse(OpenError::BadPayload, error, "the payload is not a Snapshot message");
    }
    if (out.schema_hash() != catalog::kSchemaHash) {
        const std::string theirs = hash_text(out.schema_hash());
        const std::string version = out.catalog_version();
        out.Clear();
        return refuse(OpenError::SchemaMismatch, error,
                      "snapshot schema hash " + theirs + " (catalogue \"" + version +
                          "\"), this console knows " + hash_text(catalog::kSchemaHash) +
                          " (catalogue \"" + catalog::kCatalogVersion + "\")");
    }
    return OpenError::None;
}

OpenError open_snapshot(std::span<const uint8_t> file, const OpenParams &params, v1::Snapshot &out,
                        Header &header, std::string *error) {
    out.Clear();
    try {
        Bytes bytes;
        if (const OpenError e = open_payload(file, params, bytes, header, error);
            e != OpenError::None)
            return e;
        if (const OpenError e = parse_snapshot(bytes, out, error, params.max_figures);
            e != OpenError::None)
            return e;
        if (out.base_id() != header.base() || out.sequence() != header.sequence ||
            out.created_unix() != header.created_unix) {
            const std::string what = "payload says base " + out.base_id() + " sequence " +
                                     std::to_string(out.sequence()) + " created " +
                                     std::to_string(out.created_unix()) + ", header " +
                                     header.base() + " " + std::to_string(header.sequence) + " " +
                                     std::to_string(header.created_unix);
            out.Clear();
            return refuse(OpenError::HeaderMismatch, error, what);
        }
    } catch (const std::bad_alloc &) {
        out.Clear();
        return refuse(OpenError::Internal, error, "out of memory");
    }
    return OpenError::None;
}

}  // namespace sonde::snapshot

namespace sonde::snapshot {

OpenError read_sealed_file(const std::string &path, size_t max_uncompressed, Bytes &out,
                           std::string *error) {
    out.clear();
    const size_t bound = max_sealed_size(max_uncompressed);
    auto io_error = [&](const char *what) {
        const std::string text = std::string(what) + " " + path + ": " + std::strerror(errno);
        out.clear();
        return refuse(OpenError::Internal, error, text);
    };
    // O_NONBLOCK: opening a FIFO never waits for a writer. Reads block again below.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return io_error("cannot open");
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return io_error("cannot stat");
    if (S_ISDIR(st.st_mode))
        return refuse(OpenError::Internal, error, path + " is a directory, not a snapshot file");
    size_t capacity = bound + 1;  // one more byte than allowed tells "too large"
    if (S_ISREG(st.st_mode)) {
        if (uint64_t(st.st_size) > bound)
            return refuse(OpenError::TooLarge, error,
                          path + ": " + std::to_string(st.st_size) +
                              " bytes, larger than any snapshot within the bound (" +
                              std::to_string(bound) + " bytes)");
        capacity = size_t(st.st_size) + 1;  // a file that grows meanwhile is noticed
    }
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return io_error("cannot read");
    try {
        out.resize(std::min(capacity, bound + 1));
    } catch (const std::bad_alloc &) {
        out.clear();
        return refuse(OpenError::Internal, error, "out of memory");
    }
    size_t got = 0;
    for (;;) {
        if (got == out.size()) {
            if (got > bound) break;
            // A regular file that grew since fstat: go on, within the bound.
            try {
                out.resize(std::min(bound + 1, 2 * got + 4096));
            } catch (const std::bad_alloc &) {
                out.clear();
                return refuse(OpenError::Internal, error, "out of memory");
            }
        }
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error("cannot read");
        if (n == 0) break;
        got += size_t(n);
    }
    if (got > bound) {
        out.clear();
        return refuse(OpenError::TooLarge, error,
                      path + ": more than " + std::to_string(bound) +
                          " bytes, larger than any snapshot within the bound");
    }
    out.resize(got);
    return OpenError::None;
}

}  // namespace sonde::snapshot
