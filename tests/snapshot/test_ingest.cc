// The console's store: idempotent and order-independent by construction, and the rule that
// makes it so (highest sequence wins per key).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "snapshot/ingest.hpp"

using namespace fixtures;
using nlohmann::json;

namespace {

std::string store_after(const std::vector<const v1::Snapshot *> &order) {
    IngestStore store;
    for (const v1::Snapshot *s : order) store.ingest(*s);
    return store.render_json();
}

json values_of(const std::string &rendered) {
    return json::parse(rendered)["bases"][kBase]["values"];
}

// Overlapping snapshots: B is 15 minutes after A; the 10:00 hour is still open in A.
struct Pair {
    Snapshot a_model, b_model;
    v1::Snapshot a, b;
    Pair() {
        a_model = small_snapshot(7, kCreated);
        b_model = small_snapshot(8, kCreated + 900);
        b_model.values[0].value = 20;  // message_sent, level 1: grew since A
        b_model.values.pop_back();     // B leaves out A's connection figure
        b_model.values.push_back({a_model.values[0].window, MeasureKind::Event,
                                  SONDE_EV_MESSAGE_RECEIVED, 1, 0, 0, 0, 55,
                                  false});  // a key A did not have
        b_model.gauges[0].value = 7;
        b_model.levels[1].label = "1ERE G";
        a = to_proto(a_model);
        b = to_proto(b_model);
    }
};

}  // namespace

TEST_CASE("ingesting A,B / B,A / A,A / A,B,A gives the same store", "[ingest]") {
    const Pair p;
    const std::string ab = store_after({&p.a, &p.b});
    CHECK(store_after({&p.b, &p.a}) == ab);
    CHECK(store_after({&p.a, &p.b, &p.a}) == ab);
    CHECK(store_after({&p.b, &p.b, &p.a, &p.a}) == ab);
    CHECK(store_after({&p.a, &p.a}) == store_after({&p.a}));
    CHECK(store_after({&p.a}) != ab);  // B changed something, so the check above can fail
}

TEST_CASE("the later snapshot wins per key, keys it omits keep their value", "[ingest]") {
    const Pair p;
    for (const auto &order : {std::vector{&p.a, &p.b}, std::vector{&p.b, &p.a}}) {
        const json store = json::parse(store_after(order))["bases"][kBase];
        const json &values = store["values"];
        REQUIRE(values.size() == 3);
        std::map<std::string, std::pair<int64_t, uint64_t>> by_measure;  // key -> value, sequence
        for (const json &v : values)
            by_measure[v["measure"]["key"].get<std::string>()] = {v["value"].get<int64_t>(),
                                                                  v["sequence"].get<uint64_t>()};
        CHECK(by_measure["message_sent"] == std::pair<int64_t, uint64_t>{20, 8});
        CHECK(by_measure["message_received"] == std::pair<int64_t, uint64_t>{55, 8});
        CHECK(by_measure["connections"] == std::pair<int64_t, uint64_t>{30, 7});
        CHECK(store["gauges"][0]["value"] == 7);
        CHECK(store["levels"][1]["label"] == "1ERE G");
        CHECK(store["snapshot"]["sequence"] == 8);
    }
}

TEST_CASE("sequence orders snapshots across segment incarnations", "[ingest]") {
    // The segment was replaced (reboot): the new incarnation has a random generation that may
    // sort below the old one, and counts from zero again. Its figures are still the latest.
    Snapshot before = small_snapshot(100, kCreated);
    before.segment_generation = 0xF000000000000000ULL;
    Snapshot after = small_snapshot(101, kCreated + 900);
    after.segment_generation = 0x0000000000000001ULL;
    after.values[0].value = 3;
    const v1::Snapshot a = to_proto(before), b = to_proto(after);
    for (const auto &order : {std::vector{&a, &b}, std::vector{&b, &a}}) {
        const json values = values_of(store_after(order));
        CHECK(values[0]["value"] == 3);
        CHECK(values[0]["sequence"] == 101);
    }
}

TEST_CASE("conflicting snapshots with one sequence still give one store in any order", "[ingest]") {
    // Cannot happen with a sound shipper; if it does, the result must not depend on arrival order.
    Snapshot x = small_snapshot(5), y = small_snapshot(5), z = small_snapshot(5);
    y.values[0].value = 99;
    z.segment_generation = 1;
    z.values[0].value = 1;
    const v1::Snapshot px = to_proto(x), py = to_proto(y), pz = to_proto(z);
    const std::string xyz = store_after({&px, &py, &pz});
    CHECK(store_after({&pz, &py, &px}) == xyz);
    CHECK(store_after({&py, &px, &pz, &py}) == xyz);
    CHECK(store_after({&py, &pz, &px}) == xyz);
}

TEST_CASE("realistic snapshots, every order of three", "[ingest]") {
    // Three quarter-hours: the 10:00 hour grows, the 09:00 hour is final in the last two.
    const Snapshot s1 = realistic_snapshot(41, kCreated - 900, 1);
    Snapshot s2 = realistic_snapshot(42, kCreated, 2);
    Snapshot s3 = realistic_snapshot(43, kCreated + 900, 3);
    s3.values.erase(s3.values.begin(),
                    s3.values.begin() + std::ptrdiff_t(s3.values.size() / 2));  // 09:00 gone
    const v1::Snapshot a = to_proto(s1), b = to_proto(s2), c = to_proto(s3);
    std::vector<const v1::Snapshot *> order{&a, &b, &c};
    std::sort(order.begin(), order.end());
    const std::string first = store_after(order);
    int permutations = 0;
    do {
        CHECK(store_after(order) == first);
        std::vector<const v1::Snapshot *> twice = order;
        twice.insert(twice.end(), order.begin(), order.end());
        CHECK(store_after(twice) == first);
        ++permutations;
    } while (std::next_permutation(order.begin(), order.end()));
    CHECK(permutations == 6);

    IngestStore store;
    const IngestStore::Stats one = store.ingest(b);
    CHECK(one.inserted == store.figure_count());
    CHECK(one.invalid == 0);
    const IngestStore::Stats again = store.ingest(b);
    CHECK(again.inserted == 0);
    CHECK(again.replaced == 0);
    CHECK(again.kept == one.inserted);
    const IngestStore::Stats older = store.ingest(a);
    CHECK(older.replaced == 0);
    CHECK(older.inserted == 0);
    const IngestStore::Stats newer = store.ingest(c);
    CHECK(newer.replaced > 0);
}

TEST_CASE("figures outside the catalogue are counted and skipped", "[ingest]") {
    Snapshot s = small_snapshot();
    const Window hour = s.values[0].window;
    const Window day{WindowKind::Day, kDay, 20781};
    s.values.push_back({hour, MeasureKind::Event, 99, 0, 0, 0, 0, 1, false});  // no such event
    s.values.push_back(
        {hour, MeasureKind::Event, SONDE_EV_MESSAGE_SENT, 24, 0, 0, 0, 1, false});  // level slot
    s.values.push_back(
        {hour, MeasureKind::Event, SONDE_EV_WORK_REQUEST_IT, 2, 0, 0, 0, 1, false});  // no levels
    s.values.push_back(
        {{}, MeasureKind::Event, SONDE_EV_MESSAGE_SENT, 1, 0, 0, 0, 1, false});    // no window
    s.values.push_back({hour, MeasureKind::Connection, 1, 0, 0, 1, 1, 1, false});  // profile 0
    s.values.push_back({hour, MeasureKind::Connection, 1, 0, 1, 0, 0, 1, false});  // half total
    s.values.push_back({hour, MeasureKind::Unspecified, 1, 0, 0, 0, 0, 1, false});
    s.distinct.push_back({hour, 1, 1, 1, 5, false});  // distinct users are per day, month, year
    s.distinct.push_back({day, 1u << 6, 1, 1, 5, false});
    s.distributions.push_back({day, 1, 1, {0, 1}, {1, 2}, false});
    s.distributions.push_back(
        {{WindowKind::SchoolYear, kSchoolYear, 2026}, 1, 1, {0, 1}, {1}, false});
    s.gauges.push_back({SONDE_GAUGE_ROOMS, 3, 1, 0, false});  // rooms have no levels
    s.gauges.push_back({0, 0, 1, 0, false});
    s.levels.push_back({24, "X"});

    IngestStore store;
    const IngestStore::Stats stats = store.ingest(to_proto(s));
    CHECK(stats.invalid == 14);
    CHECK(store.figure_count() == 2 + 2 + 1 + 1 + 1);  // the small snapshot's own figures
}

// The hour and day series carry all connections as one figure: profile, medium and access 0
// (docs/snapshot.md, minimisation).
TEST_CASE("the console keeps the series' connection total apart from the combinations",
          "[ingest]") {
    Snapshot s = small_snapshot();
    const Window hour = s.values[0].window;
    s.values.push_back({hour, MeasureKind::Connection, 1, 0, 0, 0, 0, 42, false});
    IngestStore store;
    const IngestStore::Stats stats = store.ingest(to_proto(s));
    CHECK(stats.invalid == 0);
    CHECK(store.figure_count() == 2 + 2 + 1 + 1 + 1 + 1);
    const json j = json::parse(store.render_json());
    bool found = false;
    for (const json &v : j["bases"][kBase]["values"])
        if (v["value"] == 42) {
            found = true;
            CHECK(v["connection"]["profile"] == "all");
            CHECK(v["connection"]["medium"] == "all");
            CHECK(v["connection"]["access"] == "all");
        }
    CHECK(found);
}

TEST_CASE("the JSON names figures with catalogue keys", "[ingest]") {
    IngestStore store;
    store.ingest(to_proto(small_snapshot()));
    const json j = json::parse(store.render_json());
    const json &b = j["bases"][kBase];
    CHECK(b["snapshot"]["timezone"] == "Europe/Paris");
    CHECK(b["snapshot"]["policy"]["k_anonymity"] == 5);
    const json &conn = b["values"][1];
    CHECK(conn["measure"]["key"] == "connections");
    CHECK(conn["connection"]["profile"] == "student");
    CHECK(conn["connection"]["medium"] == "mobile");
    CHECK(conn["connection"]["access"] == "ent");
    CHECK(conn["window"]["kind"] == "hour");
    CHECK(conn["window"]["start_unix"] == kHour10);
    CHECK(b["values"][0]["measure"]["key"] == "message_sent");
    CHECK(b["distinct"][0]["profiles"] == json::array({"student"}));
    CHECK(b["distinct"][0]["media"] == json::array({"web", "mobile"}));
    CHECK(b["distinct"][0]["users"] == 27);
    CHECK(b["distributions"][0]["tally"]["key"] == "absence_half_day");
    CHECK(b["distributions"][0]["students"] == json::array({120, 20, 8, 0, 0}));
    CHECK(b["gauges"][0]["gauge"]["key"] == "classes");
    CHECK(b["levels"][0]["label"] == "2NDE");
}

TEST_CASE("coverage: the complete hours of a generation, and the gaps between them", "[ingest]") {
    // Four snapshots of one generation: 08-10, 10-11, (11-13 lost), 13-14; and one of another
    // generation that restarts its coverage.
    const int64_t h8 = kCreated - kCreated % 3600 - 2 * 3600;
    auto with = [&](uint64_t sequence, int64_t from, int64_t to, bool restart, uint64_t gen) {
        Snapshot m = small_snapshot(sequence, kCreated + int64_t(sequence));
        m.segment_generation = gen;
        m.coverage = {from, to, restart};
        return to_proto(m);
    };
    const v1::Snapshot a = with(1, h8, h8 + 2 * 3600, true, 0x1234);
    const v1::Snapshot b = with(2, h8 + 2 * 3600, h8 + 3 * 3600, false, 0x1234);
    const v1::Snapshot d = with(4, h8 + 5 * 3600, h8 + 6 * 3600, false, 0x1234);
    const v1::Snapshot e = with(5, h8 + 6 * 3600, h8 + 6 * 3600, false, 0x1234);  // none closed
    const v1::Snapshot other = with(6, h8 + 5 * 3600, h8 + 7 * 3600, true, 0x9999);
    using Spans = std::vector<std::pair<int64_t, int64_t>>;
    const Spans expected = {{h8, h8 + 3 * 3600}, {h8 + 5 * 3600, h8 + 6 * 3600}};
    std::string first;
    for (const auto &order :
         std::vector<std::vector<const v1::Snapshot *>>{{&a, &b, &d, &e, &other},
                                                        {&other, &e, &d, &b, &a},
                                                        {&d, &a, &d, &b, &other, &e, &a}}) {
        IngestStore store;
        for (const v1::Snapshot *s : order) store.ingest(*s);
        CHECK(store.covered_hours(kBase, 0x1234) == expected);
        CHECK(store.covered_hours(kBase, 0x9999) == Spans{{h8 + 5 * 3600, h8 + 7 * 3600}});
        const std::string rendered = store.render_json();
        if (first.empty()) first = rendered;
        CHECK(rendered == first);  // order-independent, idempotent
    }
    // Filling the gap merges the spans.
    IngestStore store;
    for (const v1::Snapshot *s : {&a, &b, &d}) store.ingest(*s);
    store.ingest(with(3, h8 + 3 * 3600, h8 + 5 * 3600, false, 0x1234));
    CHECK(store.covered_hours(kBase, 0x1234) == Spans{{h8, h8 + 6 * 3600}});
    // The JSON: per generation, and the latest snapshot's own coverage.
    const json j = json::parse(first)["bases"][kBase];
    REQUIRE(j["coverage"].size() == 2);
    CHECK(j["coverage"][0]["segment_generation"] == "0x0000000000001234");
    CHECK(j["coverage"][0]["hours"] == json::array({json::array({h8, h8 + 3 * 3600}),
                                                    json::array({h8 + 5 * 3600, h8 + 6 * 3600})}));
    CHECK(j["snapshot"]["sequence"] == 6);
    CHECK(j["snapshot"]["coverage"] ==
          json({{"hours_from", h8 + 5 * 3600}, {"hours_to", h8 + 7 * 3600}, {"restart", true}}));
    // A snapshot of an earlier version has no coverage: nothing is assumed complete.
    IngestStore old;
    v1::Snapshot without = b;
    without.clear_coverage();
    old.ingest(without);
    CHECK(old.covered_hours(kBase, 0x1234).empty());
    CHECK(json::parse(old.render_json())["bases"][kBase]["snapshot"]["coverage"].is_null());
}
