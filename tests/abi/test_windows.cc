// Distinct users per day, month and school year in the base's time zone, per-student tallies
// binned per school year, gauges and level labels, driven by the injectable clock.
#include <catch2/catch.hpp>

#include "plugin.hpp"

using sonde::reader::connection_mask;
using test::api;
namespace shm = sonde::shm;

namespace {
// Paris local times (computed with Python's zoneinfo) and their local day numbers.
constexpr int64_t kTue24Nov10h = 1795510800;       // 2026-11-24 10:00 CET, day 20781
constexpr int64_t kTue24Nov235959 = 1795561199;    // 2026-11-24 23:59:59, day 20781
constexpr int64_t kWed25NovMidnight = 1795561200;  // 2026-11-25 00:00:00, day 20782
constexpr int64_t kTue1Dec0030 = 1796081400;       // 2026-12-01 00:30, day 20788
constexpr int64_t kAug31Last = 1819749599;         // 2027-08-31 23:59:59 CEST, school year 2026
constexpr int64_t kSep1First = 1819749600;         // 2027-09-01 00:00:00 CEST, school year 2027
constexpr uint32_t kNov2026 = (2026 - 1970) * 12 + 10, kDec2026 = kNov2026 + 1;

struct Host {
    test::TempBase tb;
    sonde_base *base;
    sonde_writer *w = nullptr;
    Host() {
        tb.enable();
        base = tb.open();
        REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    }
    ~Host() {
        api().writer_release(w);
        api().base_close(base);
    }
    void at(int64_t t) { REQUIRE(api().clock_set(base, t) == SONDE_OK); }
    void connect(const std::string &user, uint32_t profile, uint32_t medium, uint32_t access) {
        REQUIRE(api().connection(w, profile, medium, access, user.data(), user.size()) == SONDE_OK);
    }
    void student(const std::string &key, uint32_t tally, uint32_t level, int64_t delta) {
        REQUIRE(api().student(w, tally, key.data(), key.size(), level, delta) == SONDE_OK);
    }
};
const uint64_t kAll = connection_mask(0, 0, 0);
}  // namespace

TEST_CASE("distinct users per day, month and school year", "[abi][windows]") {
    Host h;
    h.at(kTue24Nov10h);
    h.connect("A", SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT);
    h.connect("A", SONDE_PROFILE_STUDENT, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_ENT);
    h.connect("B", SONDE_PROFILE_GUARDIAN, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_DIRECT);
    for (int i = 0; i < 3; ++i)
        h.connect("C", SONDE_PROFILE_TEACHER, SONDE_MEDIUM_CLIENT, SONDE_ACCESS_DIRECT);
    {
        auto v = h.tb.view();
        CHECK(v.connections(SONDE_PROFILE_TEACHER, SONDE_MEDIUM_CLIENT, SONDE_ACCESS_DIRECT) == 3);
        CHECK(v.connections(SONDE_PROFILE_STUDENT, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_ENT) == 1);
        CHECK(v.distinct(shm::kDay, 20781, kAll) == 3);
        CHECK(v.distinct(shm::kDay, 20781, connection_mask(SONDE_PROFILE_STUDENT, 0, 0)) == 1);
        CHECK(v.distinct(shm::kDay, 20781, connection_mask(0, SONDE_MEDIUM_MOBILE, 0)) == 2);
        CHECK(v.distinct(shm::kDay, 20781, connection_mask(0, 0, SONDE_ACCESS_ENT)) == 1);
        CHECK(v.distinct(shm::kDay, 20781,
                         connection_mask(SONDE_PROFILE_TEACHER, SONDE_MEDIUM_WEB, 0)) == 0);
        CHECK(v.users_used() == 3);
    }
    h.at(kTue24Nov235959);
    h.connect("D", SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT);
    h.at(kWed25NovMidnight);  // local midnight: a new day, same month and year
    h.connect("A", SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT);
    {
        auto v = h.tb.view();
        CHECK(v.distinct(shm::kDay, 20781, kAll) == 4);  // the closed day stays readable
        CHECK(v.distinct(shm::kDay, 20782, kAll) == 1);
        CHECK(v.distinct(shm::kMonth, kNov2026, kAll) == 4);
        CHECK(v.distinct(shm::kSchoolYear, 2026, kAll) == 4);
    }
    h.at(kTue1Dec0030);
    h.connect("E", SONDE_PROFILE_STAFF, SONDE_MEDIUM_CLIENT, SONDE_ACCESS_DIRECT);
    {
        auto v = h.tb.view();
        CHECK(v.distinct(shm::kMonth, kDec2026, kAll) == 1);
        CHECK(v.distinct(shm::kMonth, kNov2026, kAll) == 4);
        CHECK(v.distinct(shm::kDay, 20788, kAll) == 1);
        CHECK(v.distinct(shm::kDay, 20787, kAll) == 0);
        CHECK(v.distinct(shm::kSchoolYear, 2026, kAll) == 5);
    }
    h.at(kAug31Last);
    h.connect("F", SONDE_PROFILE_SUPPORT_WORKER, SONDE_MEDIUM_WEB, SONDE_ACCESS_ENT);
    h.at(kSep1First);  // a new school year starts at local midnight on September 1
    h.connect("A", SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT);
    auto v = h.tb.view();
    CHECK(v.distinct(shm::kSchoolYear, 2026, kAll) == 6);
    CHECK(v.distinct(shm::kSchoolYear, 2027, kAll) == 1);
    const auto per_cell = v.distinct_per_cell(shm::kSchoolYear, 2026);
    CHECK(per_cell[sonde::catalog::connection_cell(SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB,
                                                   SONDE_ACCESS_DIRECT)] == 2);
}

TEST_CASE("days follow the base's time zone", "[abi][windows]") {
    Host h;
    h.tb.enable(true, "Indian/Reunion");  // UTC+4: 2026-11-24 21:00 UTC is already the 25th
    REQUIRE(test::eventually([&] {
        h.at(1795554000);  // 2026-11-24T21:00:00Z
        h.connect("R", SONDE_PROFILE_GUARDIAN, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_DIRECT);
        return h.tb.view().distinct(shm::kDay, 20782, kAll) == 1;
    }));
}

TEST_CASE("per-student tallies give the annex's distributions", "[abi][windows]") {
    Host h;
    h.at(kTue24Nov10h);
    REQUIRE(api().gauge_set(h.base, SONDE_GAUGE_STUDENTS_ENROLLED, 1, 100) == SONDE_OK);
    REQUIRE(api().gauge_set(h.base, SONDE_GAUGE_STUDENTS_ENROLLED, 2, 80) == SONDE_OK);
    h.student("s1", SONDE_TALLY_ABSENCE_HALF_DAY, 1, 3);
    for (int i = 0; i < 5; ++i) h.student("s2", SONDE_TALLY_ABSENCE_HALF_DAY, 1, 1);
    h.student("s3", SONDE_TALLY_ABSENCE_HALF_DAY, 2, 25);
    h.student("s4", SONDE_TALLY_ABSENCE_HALF_DAY, 2, 2);
    h.student("s4", SONDE_TALLY_ABSENCE_HALF_DAY, 2, -2);  // a deleted absence
    h.student("s1", SONDE_TALLY_SANCTION, 1, 6);
    h.student("s9", SONDE_TALLY_CLASS_EXCLUSION, 2, 1);  // counted per level, no distribution
    auto v = h.tb.view();
    CHECK(v.tally_counter(SONDE_TALLY_ABSENCE_HALF_DAY, 1) == 8);
    CHECK(v.tally_counter(SONDE_TALLY_ABSENCE_HALF_DAY, 2) == 25);
    CHECK(v.tally_counter(SONDE_TALLY_CLASS_EXCLUSION) == 1);
    CHECK(v.students_used() == 4);
    const auto abs = v.distribution(SONDE_TALLY_ABSENCE_HALF_DAY, 2026);
    REQUIRE(abs.bin_count == 5);
    CHECK(abs.per_level[1] == std::array<uint64_t, 6>{98, 1, 1, 0, 0, 0});
    CHECK(abs.per_level[2] == std::array<uint64_t, 6>{79, 0, 0, 0, 1, 0});
    const auto sanctions = v.distribution(SONDE_TALLY_SANCTION, 2026);
    REQUIRE(sanctions.bin_count == 4);
    CHECK(sanctions.per_level[1] == std::array<uint64_t, 6>{99, 0, 0, 1, 0, 0});

    h.at(kSep1First);  // new school year: tallies start again
    h.student("s1", SONDE_TALLY_ABSENCE_HALF_DAY, 2, 1);
    auto v2 = h.tb.view();
    CHECK(v2.distribution(SONDE_TALLY_ABSENCE_HALF_DAY, 2027).per_level[2][1] == 1);
    CHECK(v2.distribution(SONDE_TALLY_ABSENCE_HALF_DAY, 2026).per_level[1] == abs.per_level[1]);
}

TEST_CASE("gauges keep their last value and time; levels keep their labels", "[abi][windows]") {
    Host h;
    h.at(kTue24Nov10h);
    REQUIRE(api().gauge_set(h.base, SONDE_GAUGE_ROOMS, 0, 30) == SONDE_OK);
    REQUIRE(api().gauge_set(h.base, SONDE_GAUGE_ROOMS, 5, 31) ==
            SONDE_OK);  // level ignored: not per level
    REQUIRE(api().gauge_set(h.base, SONDE_GAUGE_CLASSES, 3, 4) == SONDE_OK);
    REQUIRE(api().level_declare(h.base, 1, "6EME") == SONDE_OK);
    REQUIRE(api().level_declare(h.base, 2, "5EME SEGPA") == SONDE_OK);
    auto v = h.tb.view();
    CHECK(v.gauge(SONDE_GAUGE_ROOMS).value == 31);
    CHECK(v.gauge(SONDE_GAUGE_ROOMS).set_unix == uint32_t(kTue24Nov10h));
    CHECK(v.gauge(SONDE_GAUGE_CLASSES, 3).value == 4);
    CHECK_FALSE(v.gauge(SONDE_GAUGE_CLASSES, 2).set);
    CHECK(v.level_label(1) == "6EME");
    CHECK(v.level_label(2) == "5EME SEGPA");
    CHECK(v.level_label(3).empty());
}

TEST_CASE("a token computed once counts the same user as its key", "[abi][windows]") {
    Host h;
    h.at(kTue24Nov10h);
    uint64_t token = 0;
    REQUIRE(api().user_token(h.base, "A", 1, &token) == SONDE_OK);
    CHECK(token != 0);
    h.connect("A", SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT);
    REQUIRE(api().connection_token(h.w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_MOBILE,
                                   SONDE_ACCESS_DIRECT, token) == SONDE_OK);
    CHECK(api().connection_token(h.w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_MOBILE,
                                 SONDE_ACCESS_DIRECT, 0) == SONDE_E_ARG);
    CHECK(api().connection_token(h.w, 0, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_DIRECT, token) ==
          SONDE_E_RANGE);
    CHECK(api().user_token(h.base, nullptr, 1, &token) == SONDE_E_NULL);
    auto v = h.tb.view();
    CHECK(v.distinct(shm::kDay, 20781, kAll) == 1);  // one person, two media
    CHECK(v.connections(SONDE_PROFILE_STUDENT, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_DIRECT) == 1);
    CHECK(v.users_used() == 1);
}
