#pragma once
// Protobuf encoding of a model::Snapshot without the protobuf runtime (see model.hpp for why).
// The output is byte-identical to the generated class's SerializeAsString() for the same
// content: fields in number order, zero scalars omitted (proto3), repeated scalars packed,
// singular sub-messages always present.

#include <cstdint>
#include <string>
#include <vector>

#include "snapshot/model.hpp"

namespace sonde::snapshot {

using Bytes = std::vector<uint8_t>;

// Replaces what is in `out`. Strings that are not valid UTF-8 (a proto3 parser rejects the
// whole message for one bad label) are sent with each bad byte replaced by U+FFFD.
// Throws only std::bad_alloc.
void encode(const Snapshot &snapshot, Bytes &out);

// The U+FFFD repair on its own.
std::string valid_utf8(const std::string &text);

}  // namespace sonde::snapshot
