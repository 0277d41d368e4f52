#include "snapshot/console.hpp"

#include <cstdio>

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

}  // namespace

OpenError parse_snapshot(std::span<const uint8_t> bytes, v1::Snapshot &out, std::string *error) {
    out.Clear();
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
        if (const OpenError e = parse_snapshot(bytes, out, error); e != OpenError::None) return e;
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
