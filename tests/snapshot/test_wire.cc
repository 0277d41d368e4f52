// The hand-written encoder against the protoc-generated parser and serializer: same bytes.
#include <catch2/catch.hpp>

#include "fixtures.hpp"
#include "snapshot/wire.hpp"

using namespace fixtures;

namespace {

std::string as_string(const Bytes &b) { return std::string(b.begin(), b.end()); }

// Our bytes parse, and the generated class writes them back identically: every field has the
// number, wire type and default rule the .proto gives it.
void check_same_bytes(const Snapshot &s) {
    Bytes ours;
    encode(s, ours);
    v1::Snapshot parsed;
    REQUIRE(parsed.ParseFromArray(ours.data(), int(ours.size())));
    CHECK(parsed.SerializeAsString() == as_string(ours));
}

}  // namespace

TEST_CASE("encoder writes what the generated class writes", "[wire]") {
    SECTION("realistic snapshot") { check_same_bytes(realistic_snapshot()); }
    SECTION("small snapshot") { check_same_bytes(small_snapshot()); }
    SECTION("defaults only") { check_same_bytes(Snapshot{}); }
    SECTION("extreme values") {
        Snapshot s = small_snapshot();
        s.schema_hash = ~uint64_t{0};
        s.segment_generation = 1;
        s.sequence = ~uint64_t{0};
        s.created_unix = INT64_MIN;
        s.values[0].value = -1;  // a correction: ten-byte varint
        s.values[1].value = INT64_MAX;
        s.values[1].suppressed = true;
        s.values[0].window.start_unix = -3600;
        s.distinct[0].users = ~uint64_t{0};
        s.gauges[0].set_unix = -1;
        s.distributions[0].students = {0, ~uint64_t{0}, 127, 128, 16384};
        s.distributions[0].bin_low = {};
        s.suppressed = {{80, SuppressionReason::SchoolOnly, 0xFFFFFFFF}};
        s.policy = {0xFFFFFFFF, true};
        s.coverage = {INT64_MIN, -1, true};
        check_same_bytes(s);
    }
}

TEST_CASE("coverage: an additive field that the generated class reads", "[wire]") {
    Snapshot s = small_snapshot(9, kCreated + 5);
    s.coverage = {kCreated - 3 * 3600, kCreated, true};
    const v1::Snapshot p = to_proto(s);
    REQUIRE(p.has_coverage());
    CHECK(p.coverage().hours_from() == kCreated - 3 * 3600);
    CHECK(p.coverage().hours_to() == kCreated);
    CHECK(p.coverage().restart());
    // Field 17, after every field of earlier versions: their bytes are a prefix of ours, so a
    // reader of the earlier schema skips it, and this one reads earlier files (no coverage).
    Bytes ours;
    encode(s, ours);
    v1::Snapshot old = p;
    old.clear_coverage();
    const std::string before = old.SerializeAsString();
    CHECK(as_string(ours).rfind(before, 0) == 0);
    CHECK(uint8_t(ours[before.size()]) == (17 << 3 | 2));
    v1::Snapshot read_old;
    REQUIRE(read_old.ParseFromString(before));
    CHECK_FALSE(read_old.has_coverage());
}

TEST_CASE("encoded fields read back through the generated class", "[wire]") {
    const v1::Snapshot p = to_proto(small_snapshot(9, kCreated + 5));
    CHECK(p.schema_hash() == sonde::catalog::kSchemaHash);
    CHECK(p.catalog_version() == sonde::catalog::kCatalogVersion);
    CHECK(p.base_id() == kBase);
    CHECK(p.product() == SONDE_PRODUCT_PRONOTE);
    CHECK(p.segment_generation() == 0x1234);
    CHECK(p.sequence() == 9);
    CHECK(p.created_unix() == kCreated + 5);
    CHECK(p.timezone() == "Europe/Paris");
    REQUIRE(p.levels_size() == 2);
    CHECK(p.levels(1).level() == 2);
    CHECK(p.levels(1).label() == "1ERE");
    REQUIRE(p.values_size() == 2);
    const v1::Value &v = p.values(1);
    CHECK(v.window().kind() == v1::WINDOW_KIND_HOUR);
    CHECK(v.window().start_unix() == kHour10);
    CHECK(v.window().number() == 498753);
    CHECK(v.measure_kind() == v1::MEASURE_KIND_CONNECTION);
    CHECK(v.measure_id() == 1);
    CHECK(v.profile() == SONDE_PROFILE_STUDENT);
    CHECK(v.medium() == SONDE_MEDIUM_MOBILE);
    CHECK(v.access() == SONDE_ACCESS_ENT);
    CHECK(v.value() == 30);
    CHECK(p.values(0).level() == 1);
    CHECK(p.values(0).measure_id() == SONDE_EV_MESSAGE_SENT);
    REQUIRE(p.gauges_size() == 1);
    CHECK(p.gauges(0).gauge() == SONDE_GAUGE_CLASSES);
    CHECK(p.gauges(0).value() == 6);
    CHECK(p.gauges(0).set_unix() == kCreated - 3600);
    REQUIRE(p.distinct_size() == 1);
    CHECK(p.distinct(0).media() == 6);
    CHECK(p.distinct(0).accesses() == 3);
    CHECK(p.distinct(0).users() == 27);
    REQUIRE(p.distributions_size() == 1);
    CHECK(p.distributions(0).window().kind() == v1::WINDOW_KIND_SCHOOL_YEAR);
    CHECK(p.distributions(0).bin_low_size() == 5);
    CHECK(p.distributions(0).students(0) == 120);
    CHECK(p.distributions(0).students(2) == 8);
    CHECK(p.policy().k_anonymity() == 5);
    CHECK_FALSE(p.policy().include_school_only());
}

TEST_CASE("labels that are not UTF-8 are repaired, not fatal to the snapshot", "[wire]") {
    CHECK(valid_utf8("1ÈRE STMG") == "1ÈRE STMG");
    CHECK(valid_utf8("1\xC8RE") == "1\xEF\xBF\xBDRE");                            // Latin-1 È
    CHECK(valid_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    CHECK(valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
    CHECK(valid_utf8("ab\xF0\x9F\x98") == "ab\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // cut short

    // Why: the generated parser refuses a string field that is not UTF-8.
    const uint8_t raw_label[] = {0x08, 0x01, 0x12, 0x04, '1', 0xC8, 'R', 'E'};
    v1::LevelLabel raw;
    CHECK_FALSE(raw.ParseFromArray(raw_label, sizeof raw_label));

    Snapshot s = small_snapshot();
    s.levels[0].label = "1\xC8RE";
    const v1::Snapshot p = to_proto(s);  // a proto3 parser refuses invalid UTF-8 strings
    CHECK(p.levels(0).label() == "1\xEF\xBF\xBDRE");
}
