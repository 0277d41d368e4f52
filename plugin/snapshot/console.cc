#include "snapshot/console.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "catalog_layout.hpp"
#include "platform/read_file.hpp"

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
    // Follows a link (an operator's path), and reads a FIFO or a device too (`sonde-ctl open
    // /dev/stdin`): opening never waits for a writer, and the bound holds whatever the file is.
    const platform::ReadResult r =
        platform::read_file(path, bound, out, {.follow_links = true, .special_files = true});
    errno = r.err;
    switch (r.error) {
        case platform::ReadError::None:
            return OpenError::None;
        case platform::ReadError::Missing:
        case platform::ReadError::Open:
            return io_error("cannot open");
        case platform::ReadError::Stat:
            return io_error("cannot stat");
        case platform::ReadError::Read:
        case platform::ReadError::NotRegular:  // not with special_files
            return io_error("cannot read");
        case platform::ReadError::Directory:
            return refuse(OpenError::Internal, error,
                          path + " is a directory, not a snapshot file");
        case platform::ReadError::NoMemory:
            return refuse(OpenError::Internal, error, "out of memory");
        case platform::ReadError::TooLarge:
            break;
    }
    if (r.stat_size > bound)
        return refuse(OpenError::TooLarge, error,
                      path + ": " + std::to_string(r.stat_size) +
                          " bytes, larger than any snapshot within the bound (" +
                          std::to_string(bound) + " bytes)");
    return refuse(OpenError::TooLarge, error,
                  path + ": more than " + std::to_string(bound) +
                      " bytes, larger than any snapshot within the bound");
}

}  // namespace sonde::snapshot
