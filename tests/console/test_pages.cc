// The console's pages (docs/console.md): a store seeded with snapshots of several
// establishments (through the wire encoder and the generated parser, as the console receives
// them), pages rendered for a Principal, their HTML tables parsed, and every figure checked
// against IngestStore (plugin/snapshot/ingest.hpp, the reference) with the rules of the docs:
// sums over levels and combinations, rates as ratios of sums, held-back figures never 0 and
// never a minimum or maximum, rights in HTML, JSON and CSV. Each test runs on SQLite
// (console:pages_*) and PostgreSQL (console-pg:pages_*).
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "catalog_layout.hpp"
#include "figures.hpp"
#include "fixtures.hpp"
#include "ingestor.hpp"
#include "reader.hpp"
#include "service.hpp"
#include "snapshot/ingest.hpp"
#include "store.hpp"
#include "web/data.hpp"
#include "web/menus.hpp"
#include "web/pages.hpp"

namespace {

using namespace console_test;
using namespace fixtures;
using nlohmann::json;
using sonde::console::Principal;
using sonde::console::Reader;

constexpr uint32_t kDayKind = 2, kMonthKind = 3, kYearKind = 4;
const std::vector<std::string> kBases = {"0310001A", "0310002B", "0310003C", "0310004D"};
constexpr int64_t kReference = kCreated;  // 2026-11-24: last day 20780, month 682, year 2026

uint32_t bit(uint32_t v) { return uint32_t{1} << (v - 1); }
constexpr uint32_t kNet = 6;  // web | mobile

// One establishment's snapshot: every event, tally and connection combination at the closed
// day, both months and both school years; distinct users of the .Net selections; every gauge;
// distributions; hour and open-day series. Establishment 1 has a held-back Social figure,
// establishment 0 a rounded one, establishment 2 nothing for last month.
Snapshot school(size_t index, uint64_t seed, const std::string &base = "") {
    std::mt19937_64 rng(seed);
    auto draw = [&](int lo, int hi) {
        return int64_t(lo + int64_t(rng() % uint64_t(hi - lo + 1)));
    };
    Snapshot s;
    s.schema_hash = sonde::catalog::kSchemaHash;
    s.catalog_version = sonde::catalog::kCatalogVersion;
    s.base_id = base.empty() ? kBases[index] : base;
    s.product = SONDE_PRODUCT_PRONOTE;
    s.segment_generation = 0x1000 + index;
    s.sequence = 10;
    s.created_unix = kCreated;
    s.timezone = "Europe/Paris";
    s.policy = {5, true};
    s.levels = {{1, "6EME"}, {2, "5EME"}, {3, index == 2 ? "3EME" : "4EME"}};
    // Establishment 3 is in Nouméa (UTC+11): its windows open 10 hours before Paris's.
    const int64_t shift = index == 3 ? 10 * 3600 : 0;
    if (index == 3) s.timezone = "Pacific/Noumea";
    std::vector<Window> windows = {{WindowKind::Day, kPreviousDay - shift, 20780},
                                   {WindowKind::Month, kMonth - shift, 682},
                                   {WindowKind::SchoolYear, kSchoolYear - shift, 2026},
                                   {WindowKind::SchoolYear, kPreviousSchoolYear - shift, 2025}};
    if (index != 2) windows.push_back({WindowKind::Month, kPreviousMonth - shift, 681});
    for (const Window &w : windows) {
        for (uint32_t e = 1; e <= sonde::catalog::kEventCount; ++e)
            for (uint32_t l = sonde::catalog::kEvents[e].per_level ? 1 : 0;
                 l <= (sonde::catalog::kEvents[e].per_level ? 3u : 0u); ++l)
                if (const int64_t v = draw(0, 60))
                    s.values.push_back({w, MeasureKind::Event, e, l, 0, 0, 0, v, false});
        for (uint32_t t = 1; t <= sonde::catalog::kTallyCount; ++t)
            for (uint32_t l = 1; l <= 3; ++l) {
                Value v{w, MeasureKind::Tally, t, l, 0, 0, 0, draw(5, 40), false};
                if (index == 1 && w.number == 682 && t == SONDE_TALLY_PRECAUTIONARY_MEASURE &&
                    l == 1) {
                    v.value = 0;
                    v.suppressed = true;
                }
                if (index == 0 && w.number == 682 && t == SONDE_TALLY_ABSENCE_HALF_DAY && l == 2) {
                    v.value = 15;
                    v.rounded = true;
                }
                s.values.push_back(v);
            }
        int64_t total = 0;
        for (uint32_t p = 1; p <= 6; ++p)
            for (uint32_t m = 1; m <= 3; ++m)
                for (uint32_t a = 1; a <= 2; ++a)
                    if (const int64_t v = draw(0, 80)) {
                        s.values.push_back({w, MeasureKind::Connection, 1, 0, p, m, a, v, false});
                        total += v;
                    }
        if (w.kind == WindowKind::Day) {
            // The series total (profile = medium = access = 0) beside the combinations.
            s.values.push_back({w, MeasureKind::Connection, 1, 0, 0, 0, 0, total, false});
            s.distinct.push_back(
                {w, sonde::catalog::kDailyDistinctProfiles, sonde::catalog::kDailyDistinctMedia,
                 sonde::catalog::kDailyDistinctAccesses, uint64_t(draw(20, 90)), false});
        }
        for (uint32_t p = 1; p <= 5; ++p) {
            s.distinct.push_back({w, bit(p), kNet, 3, uint64_t(draw(10, 200)), false});
            s.distinct.push_back({w, bit(p), kNet, 2, uint64_t(draw(5, 100)), false});
        }
    }
    const Window open_day{WindowKind::Day, kDay - shift, 20781};
    s.values.push_back({open_day, MeasureKind::Connection, 1, 0, 0, 0, 0, draw(10, 99), false});
    // Connections at 08:00, 09:00 and 10:00 local time on 2026-11-23.
    for (int64_t h : {8, 9, 10})
        s.values.push_back({{WindowKind::Hour, kPreviousDay - shift + h * 3600,
                             uint32_t((kPreviousDay - shift + h * 3600) / 3600)},
                            MeasureKind::Connection,
                            1,
                            0,
                            0,
                            0,
                            0,
                            draw(1, 50),
                            false});
    for (uint32_t g = 1; g <= sonde::catalog::kGaugeCount; ++g)
        for (uint32_t l = sonde::catalog::kGauges[g].per_level ? 1 : 0;
             l <= (sonde::catalog::kGauges[g].per_level ? 3u : 0u); ++l)
            s.gauges.push_back({g, l, draw(1, 300), kCreated - 3600, false, false});
    const Window year{WindowKind::SchoolYear, kSchoolYear, 2026};
    for (uint32_t t = 1; t <= 5; ++t)
        for (uint32_t l = 1; l <= 3; ++l) {
            Distribution d{year, t, l, {}, {}, false, false};
            d.bin_low =
                t <= 2 ? std::vector<uint32_t>{0, 1, 5, 10, 20} : std::vector<uint32_t>{0, 1, 3, 6};
            for (size_t b = 0; b < d.bin_low.size(); ++b)
                d.students.push_back(uint64_t(draw(0, 90)));
            if (index == 0 && t == 1 && l == 1) d.rounded = true;
            s.distributions.push_back(d);
        }
    return s;
}

// The store seeded with the four establishments, its reader, and the reference.
struct Seeded {
    Setup setup;
    std::unique_ptr<sonde::console::Store> store;
    std::unique_ptr<Reader> reader;
    sonde::snapshot::IngestStore reference;
    Seeded() {
        std::string error;
        INFO(error);
        const std::string pg =
            postgres()
                ? postgres_conninfo() + " options='-c search_path=" + setup.store.schema + "'"
                : "";
        const std::string path = setup.dir.path + "/pages.sqlite";
        store = postgres() ? sonde::console::open_postgres_store(pg, &error)
                           : sonde::console::open_sqlite_store(path, &error);
        REQUIRE(store);
        std::vector<sonde::console::SnapshotRow> snaps;
        std::vector<sonde::console::FigureRow> rows;
        for (size_t i = 0; i < kBases.size(); ++i) {
            const v1::Snapshot proto = to_proto(school(i, 1000 + i));
            reference.ingest(proto);
            sonde::console::figure_rows(proto, rows);
            sonde::console::SnapshotRow r;
            r.base = kBases[i];
            r.sequence = proto.sequence();
            r.generation = proto.segment_generation();
            r.created_unix = proto.created_unix();
            r.status = "applied";
            snaps.push_back(r);
        }
        REQUIRE(store->apply(snaps, rows, &error));
        std::vector<sonde::console::Establishment> names;
        REQUIRE(sonde::console::parse_establishments(
            "# UAI\tname\tcommune\n0310001A\tCollège Jean Moulin\tToulouse\n"
            "0310002B\tCollège <Bel-Air> & \"Co\"\tMuret\n"
            "0310003C\tCollège Jules Ferry\tBlagnac\n0310004D\tLycée Pierre Paul "
            "Riquet\tSaint-Orens\n",
            names, &error));
        REQUIRE(store->upsert_establishments(names, &error));
        reader = postgres() ? sonde::console::open_postgres_reader(pg, &error)
                            : sonde::console::open_sqlite_reader(path, &error);
        REQUIRE(reader);
    }
    sonde::console::Answer get(const Principal &who, const std::string &target,
                               const sonde::console::PdfOptions *pdf = nullptr,
                               const std::string &logo = "") {
        sonde::console::web::PageContext context;
        context.reader = reader.get();
        context.now_unix = kReference;
        context.pdf = pdf;
        context.logo_data_uri = logo;
        return sonde::console::web::render_page(who, target, context);
    }
};

Principal administrator() {
    Principal p;
    p.collectivite = "Département 31";
    p.user = "admin@cd31.fr";
    p.administrator = true;
    p.establishments = {kBases.begin(), kBases.end()};
    return p;
}

// ---- reading the pages as a person would: the tables' text ----

struct ParsedCell {
    std::string text, state;
    bool max = false, min = false;
};
struct ParsedTable {
    std::vector<std::string> columns;  // ids, without uai, nom, commune
    std::vector<std::string> uais;
    std::vector<std::vector<ParsedCell>> rows;
    std::vector<ParsedCell> total;
};

std::vector<ParsedCell> parse_cells(const std::string &html) {
    static const std::regex cell(
        R"re(<td class="num([^"]*)" data-state="([a-z]+)"[^>]*>(?:<span aria-hidden="true">[^<]*</span>)?<span class="v">([^<]*)</span>)re");
    std::vector<ParsedCell> out;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), cell);
         it != std::sregex_iterator(); ++it) {
        const std::string cls = (*it)[1];
        out.push_back({(*it)[3], (*it)[2], cls.find("max") != std::string::npos,
                       cls.find("min") != std::string::npos});
    }
    return out;
}

ParsedTable parse_table(const std::string &html, const std::string &id) {
    ParsedTable t;
    const size_t a = html.find("<table class=\"data\" id=\"" + id + "\">");
    REQUIRE(a != std::string::npos);
    const size_t b = html.find("</table>", a);
    const std::string table = html.substr(a, b - a);
    const std::string head = table.substr(0, table.find("</thead>"));
    static const std::regex sort_link(R"re(tri=([^&"]+)&amp;)re");
    for (auto it = std::sregex_iterator(head.begin(), head.end(), sort_link);
         it != std::sregex_iterator(); ++it)
        if ((*it)[1] != "uai" && (*it)[1] != "nom" && (*it)[1] != "commune")
            t.columns.push_back((*it)[1]);
    const size_t body = table.find("<tbody>"), foot = table.find("<tfoot>");
    const std::string rows = table.substr(body, foot - body);
    size_t p = 0;
    while ((p = rows.find("<tr><td>", p)) != std::string::npos) {
        const size_t end = rows.find("</tr>", p);
        const std::string row = rows.substr(p, end - p);
        t.uais.push_back(row.substr(8, row.find("</td>") - 8));
        t.rows.push_back(parse_cells(row));
        p = end;
    }
    const std::string f = table.substr(foot);
    t.total = parse_cells(f.substr(0, f.find("</tr>")));
    return t;
}

// "1 234", "12,5 %", "≈ 15" -> 1234, 12.5, 15.
double number(std::string text) {
    for (const std::string &junk : {std::string("\u202F"), std::string(" %"), std::string("≈ ")})
        for (size_t p; (p = text.find(junk)) != std::string::npos;) text.erase(p, junk.size());
    std::replace(text.begin(), text.end(), ',', '.');
    return std::stod(text);
}

// ---- the reference: IngestStore's figures, read with the rules of docs/console.md ----

struct Expected {
    int64_t value = 0;
    bool held = false, rounded = false, present = false;
};

// Value figures of a base at a window, filtered.
Expected values(const sonde::snapshot::IngestStore &ref, const std::string &base, uint32_t kind,
                int64_t number, const std::function<bool(const std::vector<uint32_t> &)> &keep) {
    Expected e;
    ref.visit([&](const sonde::snapshot::IngestStore::FigureView &f) {
        if (f.base != base || f.window_kind != kind || f.window_number != number) return;
        if (f.family == sonde::snapshot::IngestStore::Family::Value ||
            f.family == sonde::snapshot::IngestStore::Family::Distinct)
            e.present = true;
        if (f.family != sonde::snapshot::IngestStore::Family::Value || !keep(f.dims)) return;
        e.value += f.value;
        e.held |= f.suppressed;
        e.rounded |= f.rounded;
    });
    return e;
}

Expected events(const sonde::snapshot::IngestStore &ref, const std::string &base, uint32_t kind,
                int64_t number, std::set<uint32_t> ids, uint32_t measure_kind = 1) {
    return values(ref, base, kind, number, [&](const std::vector<uint32_t> &d) {
        return d[0] == measure_kind && ids.count(d[1]);
    });
}

Expected connections(const sonde::snapshot::IngestStore &ref, const std::string &base,
                     uint32_t kind, int64_t number, uint32_t profiles, uint32_t media) {
    return values(ref, base, kind, number, [&](const std::vector<uint32_t> &d) {
        return d[0] == 3 && d[3] && d[4] && d[5] && (profiles & bit(d[3])) && (media & bit(d[4]));
    });
}

Expected gauges(const sonde::snapshot::IngestStore &ref, const std::string &base,
                std::set<uint32_t> ids) {
    Expected e;
    ref.visit([&](const sonde::snapshot::IngestStore::FigureView &f) {
        if (f.base != base || f.family != sonde::snapshot::IngestStore::Family::Gauge ||
            !ids.count(f.dims[0]))
            return;
        e.present = true;
        e.value += f.value;
    });
    return e;
}

Expected distinct(const sonde::snapshot::IngestStore &ref, const std::string &base, uint32_t kind,
                  int64_t number, uint32_t p, uint32_t m, uint32_t a) {
    Expected e;
    ref.visit([&](const sonde::snapshot::IngestStore::FigureView &f) {
        if (f.base != base || f.window_kind != kind || f.window_number != number ||
            f.family != sonde::snapshot::IngestStore::Family::Distinct)
            return;
        e.present = true;
        if (f.dims[0] == p && f.dims[1] == m && f.dims[2] == a) e.value = f.value;
    });
    return e;
}

void check_count(const ParsedCell &c, const Expected &e) {
    INFO("cell " << c.text << " state " << c.state);
    if (!e.present) {
        CHECK(c.state == "missing");
        CHECK(c.text == "—");
    } else if (e.held) {
        CHECK(c.state == "suppressed");
        CHECK(c.text == "s");
    } else {
        CHECK(c.state == (e.rounded ? "rounded" : "known"));
        CHECK(number(c.text) == double(e.value));
    }
}

void check_rate(const ParsedCell &c, const Expected &num, const Expected &den) {
    INFO("cell " << c.text << " " << num.value << " / " << den.value);
    if (!num.present || !den.present || den.value == 0) {
        CHECK(c.state == "missing");
    } else if (num.held || den.held) {
        CHECK(c.state == "suppressed");
    } else {
        CHECK(number(c.text) ==
              Approx(100.0 * double(num.value) / double(den.value)).margin(0.051));
    }
}

size_t column(const ParsedTable &t, const std::string &id) {
    const auto it = std::find(t.columns.begin(), t.columns.end(), id);
    REQUIRE(it != t.columns.end());
    return size_t(it - t.columns.begin());
}

// Every page's own consistency, whatever the menu: maxima and minima among known cells only,
// held-back cells unmarked, and count totals equal to the sum of the usable cells.
void check_marks(const ParsedTable &t) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
        std::vector<double> known;
        for (const auto &row : t.rows)
            if (row[c].state == "known") known.push_back(number(row[c].text));
        for (const auto &row : t.rows) {
            INFO("column " << t.columns[c] << " cell " << row[c].text);
            if (row[c].state != "known") {
                CHECK_FALSE(row[c].max);
                CHECK_FALSE(row[c].min);
                continue;
            }
            const double v = number(row[c].text);
            const bool spread =
                known.size() > 1 && *std::max_element(known.begin(), known.end()) !=
                                        *std::min_element(known.begin(), known.end());
            CHECK(row[c].max == (spread && v == *std::max_element(known.begin(), known.end())));
            CHECK(row[c].min == (spread && v == *std::min_element(known.begin(), known.end())));
        }
    }
}

}  // namespace

TEST_CASE("pages_by_establishment: every figure equals IngestStore's, for every period") {
    Seeded seeded;
    const Principal admin = administrator();
    const auto &ref = seeded.reference;
    const std::vector<std::tuple<std::string, uint32_t, int64_t>> periods = {
        {"dernier-jour", kDayKind, 20780},
        {"mois-en-cours", kMonthKind, 682},
        {"mois-dernier", kMonthKind, 681},
        {"annee-en-cours", kYearKind, 2026},
        {"annee-derniere", kYearKind, 2025}};
    for (const auto &[period, kind, number_] : periods) {
        const int64_t n = number_;
        const uint32_t k = kind;
        INFO("period " << period);
        // Demandes de travaux: each kind of request, their total, and the shares (T%).
        for (const std::string mode : {"valeurs", "taux"}) {
            const auto a =
                seeded.get(admin, "/menus/demandes-travaux/etablissements?periode=" + period +
                                      "&mode=" + mode);
            REQUIRE(a.status == 200);
            CHECK(a.content_type == "text/html; charset=utf-8");
            const ParsedTable t = parse_table(a.body, "demandes-travaux");
            REQUIRE(t.uais.size() == kBases.size());
            for (size_t r = 0; r < t.uais.size(); ++r) {
                const std::string &b = t.uais[r];
                const Expected total = events(ref, b, k, n, {26, 27, 28});
                check_count(t.rows[r][column(t, "total")], total);
                const std::pair<const char *, uint32_t> parts[] = {
                    {"maintenance", 26}, {"informatique", 27}, {"secretariat", 28}};
                for (const auto &[id, ev] : parts) {
                    if (mode == "valeurs")
                        check_count(t.rows[r][column(t, id)], events(ref, b, k, n, {ev}));
                    else
                        check_rate(t.rows[r][column(t, id)], events(ref, b, k, n, {ev}), total);
                }
            }
            check_marks(t);
        }
        // Communications: messages, discussions, e-mails (events summed over levels).
        {
            const auto a =
                seeded.get(admin, "/menus/communications/etablissements?periode=" + period);
            REQUIRE(a.status == 200);
            const ParsedTable t = parse_table(a.body, "communications");
            for (size_t r = 0; r < t.uais.size(); ++r) {
                check_count(t.rows[r][column(t, "messages-envoyes")],
                            events(ref, t.uais[r], k, n, {SONDE_EV_MESSAGE_SENT}));
                check_count(t.rows[r][column(t, "discussions")],
                            events(ref, t.uais[r], k, n, {SONDE_EV_DISCUSSION_OPENED}));
                check_count(t.rows[r][column(t, "e-mails")],
                            events(ref, t.uais[r], k, n, {SONDE_EV_MASS_EMAIL_SENT}));
                check_count(t.rows[r][column(t, "liens-utiles")],
                            gauges(ref, t.uais[r], {SONDE_GAUGE_USEFUL_LINKS}));
            }
            check_marks(t);
        }
        // Connexions: every combination summed, never the series total; shares of sums.
        {
            const auto a = seeded.get(admin, "/menus/connexions/etablissements?periode=" + period);
            REQUIRE(a.status == 200);
            const ParsedTable t = parse_table(a.body, "connexions/authentifiees");
            for (size_t r = 0; r < t.uais.size(); ++r) {
                const std::string &b = t.uais[r];
                check_count(t.rows[r][column(t, "total")], connections(ref, b, k, n, 0x3F, 7));
                check_count(t.rows[r][column(t, "logiciel")], connections(ref, b, k, n, 0x3F, 1));
                check_count(t.rows[r][column(t, "enseignants")],
                            connections(ref, b, k, n, bit(SONDE_PROFILE_TEACHER), 7));
                check_rate(t.rows[r][column(t, "mobile")], connections(ref, b, k, n, 0x3F, 4),
                           connections(ref, b, k, n, 0x3F, kNet));
            }
            check_marks(t);
            const auto people = seeded.get(
                admin, "/menus/connexions/etablissements?tableau=individus-ent&periode=" + period);
            REQUIRE(people.status == 200);
            const ParsedTable u = parse_table(people.body, "connexions/individus-ent");
            for (size_t r = 0; r < u.uais.size(); ++r)
                check_count(u.rows[r][column(u, "enseignants")],
                            distinct(ref, u.uais[r], k, n, bit(SONDE_PROFILE_TEACHER), kNet, 2));
        }
        // Social: a held-back figure is "s" in its establishment's cell, out of the total.
        {
            const auto a = seeded.get(
                admin, "/menus/social/etablissements?tableau=discipline&periode=" + period);
            REQUIRE(a.status == 200);
            const ParsedTable t = parse_table(a.body, "social/discipline");
            int64_t sum = 0;
            size_t excluded = 0;
            for (size_t r = 0; r < t.uais.size(); ++r) {
                const Expected e =
                    events(ref, t.uais[r], k, n, {SONDE_TALLY_PRECAUTIONARY_MEASURE}, 2);
                check_count(t.rows[r][column(t, "mesures")], e);
                if (e.present && !e.held)
                    sum += e.value;
                else
                    ++excluded;
            }
            CHECK(number(t.total[column(t, "mesures")].text) == double(sum));
            CHECK((excluded > 0) == (period == "mois-en-cours" || period == "mois-dernier"));
            check_marks(t);
        }
    }
    // Gauges and distributions (states and school years, whatever the period).
    const auto a = seeded.get(admin, "/menus/moyens-generaux/etablissements?mode=taux");
    REQUIRE(a.status == 200);
    const ParsedTable t = parse_table(a.body, "moyens-generaux/eleves");
    for (size_t r = 0; r < t.uais.size(); ++r) {
        const Expected enrolled = gauges(ref, t.uais[r], {SONDE_GAUGE_STUDENTS_ENROLLED});
        check_count(t.rows[r][column(t, "total")], enrolled);
        check_rate(t.rows[r][column(t, "demi-pension")],
                   gauges(ref, t.uais[r], {SONDE_GAUGE_STUDENTS_HALF_BOARD}), enrolled);
    }
    const auto social = seeded.get(admin, "/menus/social/etablissements?tableau=assiduite");
    const ParsedTable s = parse_table(social.body, "social/assiduite");
    for (size_t r = 0; r < s.uais.size(); ++r) {
        // Share of students with no absence: bin 0 over every bin, summed over levels.
        int64_t none = 0, all = 0;
        bool rounded = false;
        seeded.reference.visit([&](const sonde::snapshot::IngestStore::FigureView &f) {
            if (f.base != s.uais[r] ||
                f.family != sonde::snapshot::IngestStore::Family::Distribution ||
                f.dims[0] != SONDE_TALLY_ABSENCE_HALF_DAY || f.window_number != 2026)
                return;
            rounded |= f.rounded;
            none += int64_t(f.students[0]);
            for (uint64_t x : f.students) all += int64_t(x);
        });
        const ParsedCell &c = s.rows[r][column(s, "absences-0")];
        CHECK(c.state == (rounded ? "rounded" : "known"));
        CHECK(number(c.text) == Approx(100.0 * double(none) / double(all)).margin(0.051));
    }
}

TEST_CASE("pages_totals: rates are ratios of sums, held-back and missing figures left out") {
    Seeded seeded;
    const Principal admin = administrator();
    // Last month: establishment 0310003C sent nothing; the total says one is excluded.
    const auto a =
        seeded.get(admin, "/menus/demandes-travaux/etablissements?periode=mois-dernier&mode=taux");
    const ParsedTable t = parse_table(a.body, "demandes-travaux");
    int64_t maintenance = 0, total = 0;
    for (const std::string &b : kBases) {
        maintenance += events(seeded.reference, b, kMonthKind, 681, {26}).value;
        total += events(seeded.reference, b, kMonthKind, 681, {26, 27, 28}).value;
    }
    CHECK(number(t.total[column(t, "maintenance")].text) ==
          Approx(100.0 * double(maintenance) / double(total)).margin(0.051));
    const size_t missing =
        size_t(std::find(t.uais.begin(), t.uais.end(), "0310003C") - t.uais.begin());
    REQUIRE(missing < t.uais.size());
    CHECK(t.rows[missing][column(t, "maintenance")].text == "—");
    CHECK(a.body.find("<td class=\"num excluded\">1</td>") != std::string::npos);
    // Not an average of the establishments' rates.
    double mean = 0;
    size_t known = 0;
    for (const auto &row : t.rows)
        if (row[column(t, "maintenance")].state == "known") {
            mean += number(row[column(t, "maintenance")].text);
            ++known;
        }
    mean /= double(known);
    CHECK(std::abs(mean - 100.0 * double(maintenance) / double(total)) > 0.05);
}

TEST_CASE("pages_rights: a user of one establishment and one menu never sees the others") {
    Seeded seeded;
    Principal limited;
    limited.collectivite = "Département 31";
    limited.user = "agent@cd31.fr";
    limited.establishments = {"0310002B"};
    limited.categories = {"demandes-travaux", "moyens-generaux/eleves"};
    const std::vector<std::string> others = {"0310001A",    "0310003C",    "0310004D",
                                             "Jean Moulin", "Jules Ferry", "Riquet"};
    for (const std::string prefix : {"", "/api", "/csv"}) {
        INFO("prefix " << prefix);
        for (const std::string page :
             {"/menus/demandes-travaux/etablissements", "/menus/demandes-travaux/synthese",
              "/menus/connexions/etablissements", "/menus/connexions/journalier",
              "/menus/connexions/horaire", "/menus/moyens-generaux/etablissements",
              "/menus/moyens-generaux/niveaux"}) {
            const auto a = seeded.get(limited, prefix + page);
            INFO(page << " " << a.body.substr(0, 300));
            REQUIRE(a.status == 200);
            for (const std::string &o : others) CHECK(a.body.find(o) == std::string::npos);
        }
        // Home without the accounts: no figures table, only the list of their establishments.
        const auto home = seeded.get(limited, prefix + "/");
        CHECK(home.status == 200);
        for (const std::string &o : others) CHECK(home.body.find(o) == std::string::npos);
        if (prefix == "/api")
            CHECK(json::parse(home.body)["tables"].empty());
        else if (prefix == "/csv")
            CHECK(home.body == "\xEF\xBB\xBF");
        else {
            const size_t list = home.body.find("<table class=\"data\" id=\"etablissements\"");
            CHECK(list != std::string::npos);
            CHECK(home.body.find("<table") == list);
            CHECK(home.body.find("<table", list + 1) == std::string::npos);
        }
        // Another establishment, asked for by name: refused, never shown.
        const auto other =
            seeded.get(limited, prefix + "/menus/demandes-travaux/etablissements?etab=0310001A");
        CHECK(other.status == 403);
        CHECK(other.body.find("Jean Moulin") == std::string::npos);
        // Menus and widgets not granted.
        for (const std::string page :
             {"/menus/social/etablissements", "/menus/communications/synthese",
              "/menus/scolarite/niveaux", "/menus/moyens-generaux/etablissements?tableau=classes",
              "/menus/moyens-generaux/niveaux?indicateur=classes", "/?tableau=comptes"})
            CHECK(seeded.get(limited, prefix + page).status == 403);
    }
    // What it may read is complete: its own figures, as the administrator sees them.
    const auto mine = seeded.get(limited, "/api/menus/demandes-travaux/etablissements");
    const json j = json::parse(mine.body);
    REQUIRE(j["tables"][0]["rows"].size() == 1);
    CHECK(j["tables"][0]["rows"][0]["uai"] == "0310002B");
    const json all = json::parse(
        seeded.get(administrator(), "/api/menus/demandes-travaux/etablissements?etab=0310002B")
            .body);
    CHECK(all["tables"][0]["rows"] == j["tables"][0]["rows"]);
    // The granted widget only: Moyens généraux shows Élèves, not Classes.
    const auto moyens = seeded.get(limited, "/menus/moyens-generaux/synthese");
    CHECK(moyens.body.find("id=\"moyens-generaux/eleves\"") != std::string::npos);
    CHECK(moyens.body.find("id=\"moyens-generaux/classes\"") == std::string::npos);
}

TEST_CASE("pages_json_csv: the same figures as the page, CSV for French spreadsheets") {
    Seeded seeded;
    const Principal admin = administrator();
    const std::string q = "/menus/social/etablissements?tableau=discipline&periode=mois-en-cours";
    const ParsedTable html = parse_table(seeded.get(admin, q).body, "social/discipline");
    const json j = json::parse(seeded.get(admin, "/api" + q).body);
    const json &t = j["tables"][0];
    REQUIRE(t["rows"].size() == html.rows.size());
    for (size_t r = 0; r < html.rows.size(); ++r) {
        CHECK(t["rows"][r]["uai"] == html.uais[r]);
        for (size_t c = 0; c < html.columns.size(); ++c) {
            const json &cell = t["rows"][r]["cells"][c];
            INFO("row " << r << " column " << html.columns[c]);
            CHECK(cell["state"] == html.rows[r][c].state);
            CHECK(cell["max"] == html.rows[r][c].max);
            if (cell["value"].is_null())
                CHECK(
                    (html.rows[r][c].state == "missing" || html.rows[r][c].state == "suppressed"));
            else
                CHECK(cell["value"].get<double>() ==
                      Approx(number(html.rows[r][c].text)).margin(0.051));
        }
    }
    const auto csv = seeded.get(admin, "/csv" + q + "&mode=taux");
    CHECK(csv.status == 200);
    CHECK(csv.content_type == "text/csv; charset=utf-8");
    REQUIRE(csv.body.starts_with("\xEF\xBB\xBF"));
    const std::string body = csv.body.substr(3);
    CHECK(body.starts_with("UAI;Nom;Commune;"));
    CHECK(body.find("\r\n") != std::string::npos);
    // Each establishment's line with its name and commune; the held-back figure kept as "s";
    // rates with a decimal comma; a name holding ';' or '"' quoted.
    CHECK(body.find("0310001A;Collège Jean Moulin;Toulouse;") != std::string::npos);
    CHECK(body.find("\"Collège <Bel-Air> & \"\"Co\"\"\"") != std::string::npos);
    std::vector<std::string> lines;
    for (size_t p = 0, e; (e = body.find("\r\n", p)) != std::string::npos; p = e + 2)
        lines.push_back(body.substr(p, e - p));
    REQUIRE(lines.size() == 1 + kBases.size() + 2);
    bool held = false, comma = false;
    for (size_t i = 1; i <= kBases.size(); ++i) {
        held |= lines[i].find(";s;") != std::string::npos;
        comma |= std::regex_search(lines[i], std::regex(";[0-9]+,[0-9];"));
        CHECK(lines[i].find('.') == std::string::npos);
    }
    CHECK(held);
    CHECK(comma);
}

TEST_CASE("pages_html: escaped names, sorting links, a non-colour cue on extremes, filters") {
    Seeded seeded;
    const Principal admin = administrator();
    const auto a = seeded.get(admin, "/menus/demandes-travaux/etablissements?tri=total&ordre=desc");
    REQUIRE(a.status == 200);
    CHECK(a.body.find("Collège &lt;Bel-Air&gt; &amp; &quot;Co&quot;") != std::string::npos);
    CHECK(a.body.find("<Bel-Air>") == std::string::npos);
    const ParsedTable t = parse_table(a.body, "demandes-travaux");
    for (size_t r = 1; r < t.rows.size(); ++r)
        CHECK(number(t.rows[r - 1][column(t, "total")].text) >=
              number(t.rows[r][column(t, "total")].text));
    CHECK(a.body.find("aria-sort=\"descending\"") != std::string::npos);
    CHECK(a.body.find("(maximum)") != std::string::npos);
    CHECK(a.body.find("(minimum)") != std::string::npos);
    CHECK(a.body.find("<script") == std::string::npos);
    for (const std::string bad :
         {"?periode=demain", "?mode=x", "?date=2026-02-30", "?etab=../../x", "?ordre=up"})
        CHECK(seeded.get(admin, "/menus/demandes-travaux/etablissements" + bad).status == 400);
    CHECK(seeded.get(admin, "/menus/inconnu/synthese").status == 404);
    CHECK(seeded.get(admin, "/menus/social/journalier").status == 404);
    // The reference date moves the periods: a month later, "mois dernier" is November.
    const json later = json::parse(
        seeded
            .get(admin,
                 "/api/menus/demandes-travaux/etablissements?periode=mois-dernier&date=2026-12-03")
            .body);
    const json now = json::parse(
        seeded.get(admin, "/api/menus/demandes-travaux/etablissements?periode=mois-en-cours").body);
    CHECK(later["tables"] == now["tables"]);
}

namespace {

// The hrefs of the links in the element <p class="pages"> of a page, by their text.
std::map<std::string, std::string> page_hrefs(const std::string &html) {
    std::map<std::string, std::string> out;
    const size_t from = html.find("<p class=\"pages\">");
    const size_t to = html.find("</p>", from);
    if (from == std::string::npos || to == std::string::npos) return out;
    static const std::regex a("<a href=\"([^\"]*)\"[^>]*>([^<]*)</a>");
    const std::string p = html.substr(from, to - from);
    for (auto it = std::sregex_iterator(p.begin(), p.end(), a); it != std::sregex_iterator(); ++it)
        out[(*it)[2]] = (*it)[1];
    return out;
}

std::string header_value(const sonde::console::Answer &a, const std::string &name) {
    for (const auto &[k, v] : a.headers)
        if (k == name) return v;
    return "";
}

// RFC 8187's %XX decoded; "" when a byte is neither an attr-char nor %XX.
std::string percent_decoded(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() &&
            std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += char(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else if (std::isalnum(static_cast<unsigned char>(s[i])) ||
                   std::string("!#$&+-.^_`|~").find(s[i]) != std::string::npos) {
            out += s[i];
        } else {
            return "";
        }
    }
    return out;
}

// A file name as Content-Disposition gives it: `filename` (ASCII) and `filename*` (UTF-8).
struct FileName {
    std::string ascii, utf8;
};
FileName attachment_name(const sonde::console::Answer &a) {
    const std::string v = header_value(a, "Content-Disposition");
    std::smatch m;
    FileName f;
    if (v.rfind("attachment;", 0) != 0) return f;
    if (std::regex_search(v, m, std::regex("filename=\"([^\"]*)\""))) f.ascii = m[1];
    if (std::regex_search(v, m, std::regex("filename\\*=UTF-8''([^; ]*)")))
        f.utf8 = percent_decoded(m[1]);
    return f;
}

}  // namespace

TEST_CASE("pages_links_exports: fixed windows of the series, export names, page structure") {
    Seeded seeded;
    const Principal admin = administrator();
    // (a) A period chosen on Par établissement does not follow the links to the series, which
    // have their fixed windows (the guide: the last 4 weeks, the last 3 weeks); the other links
    // keep it, and every link keeps the establishments chosen.
    const auto page = seeded.get(admin,
                                 "/menus/connexions/etablissements?periode=dernier-jour&mode=taux&"
                                 "tableau=individus&etab=0310001A");
    REQUIRE(page.status == 200);
    const auto links = page_hrefs(page.body);
    INFO(page.body.substr(0, 3000));
    for (const char *series : {"Suivi journalier", "Suivi heure par heure"}) {
        INFO(series);
        REQUIRE(links.count(series));
        const std::string &href = links.at(series);
        CHECK(href.find("periode") == std::string::npos);
        CHECK(href.find("mode") == std::string::npos);
        CHECK(href.find("tableau") == std::string::npos);
        CHECK(href.find("etab=0310001A") != std::string::npos);
    }
    REQUIRE(links.count("Synthèse"));
    CHECK(links.at("Synthèse").find("periode=dernier-jour") != std::string::npos);
    // The series pages, even when asked with a period, say their own window and no period.
    for (const auto &[path, words] : std::vector<std::pair<std::string, std::string>>{
             {"/menus/connexions/journalier", "les 28 jours du 28/10/2026 au 24/11/2026"},
             {"/menus/connexions/horaire", "les 21 jours du 04/11/2026 au 24/11/2026"}}) {
        INFO(path);
        const auto a = seeded.get(admin, path + "?periode=dernier-jour&mode=taux");
        REQUIRE(a.status == 200);
        CHECK(a.body.find(words) != std::string::npos);
        for (const auto p : sonde::console::web::kPeriods)
            CHECK(a.body.find(sonde::console::web::period_label(p)) == std::string::npos);
        CHECK(a.body.find("periode=") == std::string::npos);  // no link carries it on
        const json j = json::parse(seeded.get(admin, "/api" + path + "?periode=dernier-jour").body);
        CHECK(j["period"].is_null());
    }

    // (c) Exports are attachments named after the page, its period and its reference day:
    // `filename` in ASCII, `filename*` in UTF-8 (RFC 6266, RFC 8187).
    struct Want {
        std::string target;
        std::vector<std::string> ascii, words;
    };
    const std::vector<Want> wants = {
        {"/csv/menus/connexions/etablissements?periode=mois-dernier&mode=taux&tableau=individus",
         {"connexions", "par-etablissement", "individus", "taux", "mois-dernier", "2026-11-24"},
         {"Connexions", "Par établissement", "Individus", "T%", "Mois dernier", "2026-11-24"}},
        {"/csv/menus/social/synthese?periode=annee-en-cours&date=2026-12-01",
         {"social", "synthese", "annee-en-cours", "2026-12-01"},
         {"Social", "Synthèse", "Année scolaire en cours", "2026-12-01"}},
        {"/csv/menus/connexions/journalier?periode=dernier-jour",
         {"connexions", "suivi-journalier", "28-jours", "2026-11-24"},
         {"Suivi journalier", "28 jours", "2026-11-24"}},
        {"/csv/menus/connexions/horaire",
         {"suivi-heure-par-heure", "21-jours", "2026-11-24"},
         {"Suivi heure par heure", "21 jours"}},
        {"/csv/remontees", {"etat-des-remontees", "2026-11-24"}, {"État des remontées"}},
        // A menu of one table: its name once.
        {"/csv/menus/demandes-travaux/etablissements",
         {"demandes-travaux_par-etablissement_mois-en-cours_2026-11-24.csv"},
         {"Demandes de travaux — Par établissement — Mois en cours — 2026-11-24.csv"}},
        {"/csv/", {"accueil", "2026-11-24"}, {"Accueil"}},
    };
    for (const Want &w : wants) {
        INFO(w.target);
        const auto a = seeded.get(admin, w.target);
        REQUIRE(a.status == 200);
        const FileName f = attachment_name(a);
        INFO(header_value(a, "Content-Disposition"));
        CHECK(f.ascii.ends_with(".csv"));
        CHECK(f.utf8.ends_with(".csv"));
        CHECK(std::all_of(f.ascii.begin(), f.ascii.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        }));
        for (const std::string &part : w.ascii) CHECK(f.ascii.find(part) != std::string::npos);
        for (const std::string &part : w.words) CHECK(f.utf8.find(part) != std::string::npos);
        // The periods the page does not read are not in its name.
        if (w.target.find("journalier") != std::string::npos)
            CHECK(f.ascii.find("dernier-jour") == std::string::npos);
        CHECK(f.utf8.find_first_of("/\\:*?\"<>|") == std::string::npos);
    }

    // Every page: French, a title, a skip link to the main content, captions and scoped headers.
    for (const std::string target :
         {"/", "/menus/connexions/synthese", "/menus/connexions/etablissements",
          "/menus/moyens-generaux/niveaux", "/menus/connexions/journalier",
          "/menus/connexions/horaire", "/remontees"}) {
        INFO(target);
        const auto a = seeded.get(admin, target);
        REQUIRE(a.status == 200);
        CHECK(a.body.find("<html lang=\"fr\">") != std::string::npos);
        std::smatch m;
        REQUIRE(std::regex_search(a.body, m, std::regex("<title>([^<]+)</title>")));
        CHECK(m[1].str().find("Console territoriale") != std::string::npos);
        CHECK(m[1].str().size() > std::string(" — Console territoriale").size());
        const size_t skip = a.body.find("<a class=\"skip\" href=\"#contenu\">");
        CHECK(skip != std::string::npos);
        CHECK(skip < a.body.find("<header"));
        CHECK(a.body.find("<main id=\"contenu\">") != std::string::npos);
        size_t tables = 0;
        for (size_t at = a.body.find("<table"); at != std::string::npos;
             at = a.body.find("<table", at + 1)) {
            ++tables;
            CHECK(a.body.compare(a.body.find('>', at) + 1, 9, "<caption>") == 0);
        }
        CHECK(tables > 0);
        CHECK(std::regex_search(a.body, std::regex("<th(?! scope=)[ >]")) == false);
        // The navigation says where the page is, once.
        size_t current = 0;
        const std::string nav = a.body.substr(a.body.find("<nav class=\"menus\""));
        for (size_t at = nav.find("aria-current=\"page\""); at < nav.find("</nav>");
             at = nav.find("aria-current=\"page\"", at + 1))
            ++current;
        CHECK(current == 1);
    }
    // An error page is a page too: its title, and a way back.
    const auto refused = seeded.get(admin, "/menus/connexions/etablissements?etab=0999999Z");
    CHECK(refused.status == 403);
    CHECK(refused.body.find("<title>Accès refusé") != std::string::npos);
    CHECK(refused.body.find("<a href=\"/\">") != std::string::npos);
}

TEST_CASE("pages_levels: Détails par niveaux by level label, and the series of Connexions") {
    Seeded seeded;
    const Principal admin = administrator();
    const auto a = seeded.get(admin, "/menus/moyens-generaux/niveaux?indicateur=eleves");
    REQUIRE(a.status == 200);
    const ParsedTable t = parse_table(a.body, "eleves");
    // Levels: 6EME, 5EME, 4EME (slot 3) and 3EME (slot 3 of 0310003C), then the total.
    REQUIRE(t.columns.size() == 5);
    for (size_t r = 0; r < t.uais.size(); ++r) {
        std::map<uint32_t, int64_t> per_level;
        seeded.reference.visit([&](const sonde::snapshot::IngestStore::FigureView &f) {
            if (f.base == t.uais[r] && f.family == sonde::snapshot::IngestStore::Family::Gauge &&
                f.dims[0] == SONDE_GAUGE_STUDENTS_ENROLLED)
                per_level[f.dims[1]] += f.value;
        });
        CHECK(number(t.rows[r][column(t, "6EME")].text) == double(per_level[1]));
        CHECK(number(t.rows[r][column(t, "5EME")].text) == double(per_level[2]));
        const bool third = t.uais[r] == "0310003C";
        // Slot 3 is 4EME everywhere but in 0310003C, where it is 3EME.
        CHECK(t.rows[r][column(t, third ? "4EME" : "3EME")].text == "—");
        CHECK(number(t.rows[r][column(t, third ? "3EME" : "4EME")].text) == double(per_level[3]));
        CHECK(number(t.rows[r][column(t, "total")].text) ==
              double(per_level[1] + per_level[2] + per_level[3]));
    }
    check_marks(t);
    // Suivi journalier: the day's connection total (the series figure) summed over schools.
    const json days =
        json::parse(seeded.get(admin, "/api/menus/connexions/journalier").body)["days"];
    REQUIRE(days.size() == 28);
    int64_t closed = 0, open = 0;
    seeded.reference.visit([&](const sonde::snapshot::IngestStore::FigureView &f) {
        if (f.family != sonde::snapshot::IngestStore::Family::Value || f.window_kind != kDayKind ||
            f.dims[0] != 3 || f.dims[3] || f.dims[4] || f.dims[5])
            return;
        (f.window_number == 20780 ? closed : open) += f.value;
    });
    CHECK(days[26]["date"] == "2026-11-23");
    CHECK(days[26]["connections"] == closed);
    CHECK(days[27]["connections"] == open);
    CHECK(days[0]["connections"] == 0);
    const auto svg = seeded.get(admin, "/menus/connexions/journalier");
    CHECK(svg.body.find("<svg role=\"img\"") != std::string::npos);
    // Suivi heure par heure: each establishment's hours in its own local time (Nouméa's 08:00 is
    // 21:00 UTC the day before), summed over establishments.
    std::map<int, int64_t> expected;
    seeded.reference.visit([&](const sonde::snapshot::IngestStore::FigureView &f) {
        if (f.family != sonde::snapshot::IngestStore::Family::Value || f.window_kind != 1) return;
        const int64_t offset = f.base == "0310004D" ? 11 * 3600 : 3600;
        expected[int((f.window_start + offset) % 86400 / 3600)] += f.value;
    });
    REQUIRE(expected.size() == 3);
    const json page = json::parse(seeded.get(admin, "/api/menus/connexions/horaire").body);
    const json &hours = page["hours"];
    REQUIRE(hours.size() == 3);
    for (const json &h : hours) {
        CHECK(h["date"] == "2026-11-23");
        CHECK(h["connections"] == expected[h["hour"].get<int>()]);
    }
    CHECK(page["unplaced_connections"] == 0);
}

TEST_CASE("pages_tree: the menus follow the catalogue, every indicator shown somewhere") {
    using namespace sonde::console::web;
    std::set<uint16_t> shown;
    std::set<std::string> ids;
    for (const Menu &m : menus()) {
        if (m.referential) {
            CHECK(std::string(sonde::catalog::kIndicators[m.referential - 1].theme) == m.theme);
            shown.insert(m.referential);
        }
        for (const Widget &w : m.widgets) {
            CHECK(ids.insert(w.id).second);
            CHECK((w.id == m.id || w.id.starts_with(m.id + "/")));
            for (const Column &c : w.columns) {
                INFO(w.id << " " << c.id);
                REQUIRE(c.indicator >= 1);
                REQUIRE(c.indicator <= 80);
                CHECK(std::string(sonde::catalog::kIndicators[c.indicator - 1].theme) == m.theme);
                shown.insert(c.indicator);
            }
            for (const LevelTable &l : w.levels) {
                CHECK(std::string(sonde::catalog::kIndicators[l.indicator - 1].theme) == m.theme);
                // Only indicators with a level dimension have a level table.
                CHECK(std::string(sonde::catalog::kIndicators[l.indicator - 1].dimensions)
                          .find("level") != std::string::npos);
            }
        }
    }
    for (uint16_t id = 1; id <= 80; ++id) {
        INFO("indicator " << id << " " << sonde::catalog::kIndicators[id - 1].key);
        CHECK(shown.count(id));
    }
    // Every widget is a category the rights model can grant (console/principal.hpp).
    Principal p;
    p.categories = {"social/assiduite"};
    CHECK(p.may_see_category("social"));
    CHECK_FALSE(p.may_see_category("social/discipline"));
}

TEST_CASE("pages_local_hours: an hour in its establishment's local day, across DST changes") {
    using sonde::console::days_from_civil;
    using sonde::console::web::local_hour;
    auto check = [](int64_t day, int64_t offset_start, int64_t offset_end,
                    std::vector<int> expected_hours) {
        const std::map<int64_t, int64_t> days = {{day, day * 86400 - offset_start},
                                                 {day + 1, (day + 1) * 86400 - offset_end}};
        for (size_t i = 0; i < expected_hours.size(); ++i) {
            int64_t d = 0;
            int h = -1;
            INFO("hour " << i << " of day " << day);
            REQUIRE(local_hour(days, day * 86400 - offset_start + int64_t(i) * 3600, d, h));
            CHECK(d == day);
            CHECK(h == expected_hours[i]);
        }
        int64_t d;
        int h;
        CHECK_FALSE(local_hour(days, day * 86400 - offset_start - 3600, d, h));
    };
    // Paris, 2026-03-29: 02:00 does not exist (23 hours).
    check(days_from_civil(2026, 3, 29), 3600, 7200, {0, 1, 3, 4, 5});
    // Paris, 2026-10-25: 02:00 twice (25 hours).
    check(days_from_civil(2026, 10, 25), 7200, 3600, {0, 1, 2, 2, 3, 4});
    // Nouméa (UTC+11, no DST) and Réunion (UTC+4).
    check(days_from_civil(2026, 11, 23), 11 * 3600, 11 * 3600, {0, 1, 2, 3, 4, 5, 6, 7, 8});
    check(days_from_civil(2026, 11, 23), 4 * 3600, 4 * 3600, {0, 1, 2});
}

TEST_CASE("pages_establishments: the TSV import, its errors") {
    std::vector<sonde::console::Establishment> out;
    std::string error;
    REQUIRE(sonde::console::parse_establishments(
        "0310001A\tCollège A\tToulouse\n\n# x\n9740001Z\tLycée B\tSaint-Denis\tIndian/Reunion\r\n",
        out, &error));
    REQUIRE(out.size() == 2);
    CHECK(out[0].timezone == "Europe/Paris");
    CHECK(out[1].timezone == "Indian/Reunion");
    CHECK(out[1].commune == "Saint-Denis");
    out.clear();
    CHECK_FALSE(sonde::console::parse_establishments("0310001a\tx\ty\n", out, &error));
    CHECK(error.starts_with("line 1"));
    CHECK_FALSE(sonde::console::parse_establishments("0310001A\t\ty\n", out, &error));
    CHECK_FALSE(sonde::console::parse_establishments("0310001A x y\n", out, &error));
}

// Not a test: render times for a collectivité of 600 establishments, for docs/console.md. Run
// by hand: build/tests/console/sonde_console_tests "[.bench]" (--store postgresql as well).
TEST_CASE("pages render times, 600 establishments", "[.bench]") {
    Setup setup;
    std::string error;
    INFO(error);
    const std::string pg =
        postgres() ? postgres_conninfo() + " options='-c search_path=" + setup.store.schema + "'"
                   : "";
    const std::string path = setup.dir.path + "/pages.sqlite";
    auto store = postgres() ? sonde::console::open_postgres_store(pg, &error)
                            : sonde::console::open_sqlite_store(path, &error);
    REQUIRE(store);
    Principal admin = administrator();
    admin.establishments.clear();
    std::vector<sonde::console::Establishment> names;
    for (size_t i = 0; i < 600; ++i) {
        char uai[16];
        std::snprintf(uai, sizeof uai, "%07zuA", 310000 + i);
        std::vector<sonde::console::FigureRow> rows;
        sonde::console::figure_rows(to_proto(school(i % 4, 7 + i, uai)), rows);
        sonde::console::SnapshotRow r;
        r.base = uai;
        r.sequence = 10;
        r.created_unix = kCreated;
        r.status = "applied";
        // A week of deliveries for État des remontées: 4 files an hour, each covering its
        // quarter's hour chain, received 20 s after their creation.
        std::vector<sonde::console::SnapshotRow> week = {r};
        const int64_t start = (kReference / 3600 - 7 * 24) * 3600;
        for (int64_t q = 0; q < 7 * 24 * 4; ++q) {
            sonde::console::SnapshotRow w = r;
            w.sequence = 11 + uint64_t(q);
            w.created_unix = start + q * 900;
            w.received_unix = w.created_unix + 20;
            w.coverage = std::to_string(start + (q / 4) * 3600) + "," +
                         std::to_string(start + ((q + 1) / 4) * 3600) + ",0";
            week.push_back(w);
        }
        REQUIRE(store->apply(week, rows, &error));
        admin.establishments.insert(uai);
        names.push_back({uai, std::string("Collège ") + uai, "Commune", "Europe/Paris"});
    }
    REQUIRE(store->upsert_establishments(names, &error));
    auto reader = postgres() ? sonde::console::open_postgres_reader(pg, &error)
                             : sonde::console::open_sqlite_reader(path, &error);
    REQUIRE(reader);
    for (const std::string target :
         {"/", "/menus/connexions/synthese", "/menus/connexions/etablissements",
          "/menus/social/etablissements?tableau=assiduite&periode=annee-en-cours",
          "/menus/moyens-generaux/niveaux", "/menus/demandes-travaux/etablissements?mode=taux",
          "/menus/connexions/journalier", "/menus/connexions/horaire",
          "/csv/menus/scolarite/etablissements", "/api/menus/communications/etablissements",
          "/remontees", "/api/remontees"}) {
        std::vector<double> ms;
        size_t bytes = 0;
        for (int i = 0; i < 5; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            sonde::console::web::PageContext context;
            context.reader = reader.get();
            context.now_unix = kReference;
            const auto a = sonde::console::web::render_page(admin, target, context);
            ms.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count());
            REQUIRE(a.status == 200);
            bytes = a.body.size();
        }
        std::sort(ms.begin(), ms.end());
        WARN((postgres() ? "postgresql " : "sqlite ")
             << target << ": median " << ms[2] << " ms (min " << ms[0] << ", max " << ms[4] << "), "
             << bytes << " bytes");
    }
    // PDF: once each (WeasyPrint takes seconds), the whole of the conversion included.
    sonde::console::PdfOptions options;
    options.temp_dir = setup.dir.path;
    options.timeout_seconds = 900;
    for (const std::string target : {"/pdf/menus/demandes-travaux/etablissements", "/pdf/remontees",
                                     "/pdf/menus/connexions/journalier"}) {
        const auto t0 = std::chrono::steady_clock::now();
        sonde::console::web::PageContext context;
        context.reader = reader.get();
        context.now_unix = kReference;
        context.pdf = &options;
        const auto a = sonde::console::web::render_page(admin, target, context);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        INFO(a.body.substr(0, 300));
        REQUIRE(a.status == 200);
        WARN((postgres() ? "postgresql " : "sqlite ")
             << target << ": " << ms << " ms, " << a.body.size() << " bytes");
    }
}

// ---- État des remontées, the PDF export, the home's year filter ----

namespace {

sonde::console::SnapshotRow snapshot_row(const std::string &base, uint64_t sequence,
                                         uint64_t generation, int64_t created, int64_t received,
                                         std::optional<std::string> coverage,
                                         const std::string &status = "applied") {
    sonde::console::SnapshotRow r;
    r.base = base;
    r.sequence = sequence;
    r.generation = generation;
    r.created_unix = created;
    r.received_unix = received;
    r.applied_unix = received;
    r.coverage = std::move(coverage);
    r.status = status;
    if (status != "applied") r.reason = "authentication failed: bad tag";
    return r;
}

std::string cover(int64_t from, int64_t to, bool restart = false) {
    return std::to_string(from) + "," + std::to_string(to) + (restart ? ",1" : ",0");
}

// pdftotext's text of a PDF (poppler-utils), page by page (form feeds split the pages).
std::vector<std::string> pdf_pages(const std::string &dir, const std::string &pdf) {
    const std::string path = dir + "/export.pdf";
    {
        std::ofstream out(path, std::ios::binary);
        out << pdf;
    }
    FILE *p = ::popen(("pdftotext -layout '" + path + "' - 2>&1").c_str(), "r");
    REQUIRE(p);
    std::string text;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
    REQUIRE(::pclose(p) == 0);
    std::vector<std::string> pages;
    size_t a = 0;
    for (size_t f; (f = text.find('\f', a)) != std::string::npos; a = f + 1)
        pages.push_back(text.substr(a, f - a));
    if (a < text.size() && text.find_first_not_of(" \n", a) != std::string::npos)
        pages.push_back(text.substr(a));
    return pages;
}

// Without spaces of any kind (pdftotext lays the text out with its own spacing).
std::string squeeze(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == ' ' || s[i] == '\n') continue;
        if (s.compare(i, 3, "\u202F") == 0 || s.compare(i, 2, "\u00A0") == 0) {
            i += s.compare(i, 3, "\u202F") == 0 ? 2 : 1;
            continue;
        }
        out += s[i];
    }
    return out;
}

sonde::console::PdfOptions pdf_options(const std::string &dir) {
    sonde::console::PdfOptions o;
    o.temp_dir = dir;
    o.timeout_seconds = 120;  // a hang guard: the 2-core machine builds meanwhile
    REQUIRE(::access(o.program.c_str(), X_OK) == 0);  // scripts/deps.sh installs weasyprint
    return o;
}

// The smallest PNG: one transparent pixel.
std::string tiny_png_uri() {
    return "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
           "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
}

}  // namespace

TEST_CASE("pages_status: last snapshot, complete hours, gaps, clock skew, rejected files") {
    Seeded seeded;
    std::string error;
    INFO(error);
    const int64_t h0 = (kReference / 3600 - 30) * 3600;  // an hour 30 hours before the reference
    // 0310001A: sequences 11, 12 and 14 of one generation; 13 never arrived: hours h0+3 and h0+4
    // are a gap. Received 30, 5 and 100 s after their creation.
    // 0310002B: a restart of its coverage (a new spool), not a gap; its clock 10 min ahead (files
    // received before they were made); a file not applied, and uploads refused.
    // 0310003C: only the seeded snapshot, without coverage, received long ago.
    std::vector<sonde::console::SnapshotRow> rows = {
        snapshot_row("0310001A", 11, 0x1000, h0 + 7200, h0 + 7230, cover(h0, h0 + 7200)),
        snapshot_row("0310001A", 12, 0x1000, h0 + 10800, h0 + 10805, cover(h0 + 7200, h0 + 10800)),
        snapshot_row("0310001A", 14, 0x1000, h0 + 21600, h0 + 21700, cover(h0 + 18000, h0 + 21600)),
        snapshot_row("0310002B", 11, 0x1001, h0 + 3600, h0 + 3000, cover(h0, h0 + 3600)),
        snapshot_row("0310002B", 12, 0x1001, h0 + 18000, h0 + 17400,
                     cover(h0 + 14400, h0 + 18000, true)),
        snapshot_row("0310002B", 13, 0x1001, h0 + 19000, h0 + 19200, std::nullopt, "unreadable")};
    REQUIRE(seeded.store->apply(rows, {}, &error));
    REQUIRE(seeded.store->record_rejections(
        {{"0310002B", "unknown sender", "unknown sender: key 00 is not registered", 2, h0 + 100,
          h0 + 200},
         {"0310004D", "bad magic", "bad magic: not a snapshot", 1, h0, h0}},
        &error));
    // Counts add up: the same reason again.
    REQUIRE(seeded.store->record_rejections(
        {{"0310002B", "unknown sender", "unknown sender: key 01 is not registered", 1, h0 + 300,
          h0 + 300}},
        &error));

    const auto api = seeded.get(administrator(), "/api/remontees");
    INFO(api.body.substr(0, 2000));
    REQUIRE(api.status == 200);
    const json j = json::parse(api.body);
    std::map<std::string, json> by;
    for (const json &e : j["establishments"]) by[e["uai"]] = e;
    REQUIRE(by.size() == 4);
    const json &a = by["0310001A"];
    CHECK(a["last_snapshot"]["sequence"] == 14);
    CHECK(a["last_snapshot"]["received_unix"] == h0 + 21700);
    CHECK(a["complete_until_unix"] == h0 + 21600);
    CHECK(a["gaps"] == json::array({json::array({h0 + 10800, h0 + 18000})}));
    CHECK(a["gap_hours"] == 2);
    CHECK(a["skew_seconds"] == 5);
    CHECK(a["refused_uploads"] == 0);
    CHECK(a["last_rejection"].is_null());
    const json &b = by["0310002B"];
    CHECK(b["last_snapshot"]["sequence"] == 13);
    CHECK(b["last_snapshot"]["status"] == "unreadable");
    CHECK(b["gaps"].empty());
    CHECK(b["gap_hours"] == 0);
    CHECK(b["complete_until_unix"] == h0 + 18000);
    CHECK(b["skew_seconds"] == -600);
    CHECK(b["refused_uploads"] == 3);
    CHECK(b["unapplied_files"] == 1);
    CHECK(b["last_rejection"]["unix"] == h0 + 19200);
    const json &c = by["0310003C"];
    CHECK(c["coverage_seen"] == false);
    CHECK(c["complete_until_unix"] == 0);
    CHECK(c["skew_seconds"].is_null());  // nothing received within the last 7 days
    CHECK(c["last_snapshot"]["sequence"] == 10);
    CHECK(by["0310004D"]["refused_uploads"] == 1);
    CHECK(by["0310004D"]["last_rejection"]["reason"] == "bad magic: not a snapshot");

    // The page: one row per establishment, sortable like the other tables.
    const auto page = seeded.get(administrator(), "/remontees?tri=trous&ordre=desc");
    REQUIRE(page.status == 200);
    CHECK(page.body.find("href=\"/remontees\" aria-current=\"page\"") != std::string::npos);
    const size_t first = page.body.find("<tr data-uai=\"0310001A\">");
    REQUIRE(first != std::string::npos);
    for (const char *uai : {"0310002B", "0310003C", "0310004D"}) {
        const size_t at = page.body.find(std::string("<tr data-uai=\"") + uai + "\">");
        REQUIRE(at != std::string::npos);
        CHECK(at > first);  // the most hours missing first
    }
    CHECK(page.body.find("aria-sort=\"descending\"") != std::string::npos);
    CHECK(page.body.find("2 h : 23/11/2026") != std::string::npos);
    CHECK(page.body.find("horloge de l&#39;établissement en avance") != std::string::npos);
    const auto up = seeded.get(administrator(), "/remontees?tri=ecart&ordre=asc");
    CHECK(up.body.find("<tr data-uai=\"0310002B\">") < up.body.find("<tr data-uai=\"0310001A\">"));
    CHECK(seeded.get(administrator(), "/remontees?tri=inconnu").status == 400);

    // CSV: one line per establishment, markers kept.
    const auto csv = seeded.get(administrator(), "/csv/remontees");
    REQUIRE(csv.status == 200);
    CHECK(csv.body.starts_with("\xEF\xBB\xBFUAI;Établissement;Commune;Dernier fichier reçu"));
    CHECK(std::count(csv.body.begin(), csv.body.end(), '\n') == 5);
    CHECK(csv.body.find("0310001A;Collège Jean Moulin;Toulouse;") != std::string::npos);

    // Rights: a user of one establishment sees its row only, and nothing of the others'.
    Principal limited;
    limited.collectivite = "Département 31";
    limited.user = "agent@cd31.fr";
    limited.establishments = {"0310002B"};
    for (const std::string prefix : {"", "/api", "/csv"}) {
        const auto mine = seeded.get(limited, prefix + "/remontees");
        REQUIRE(mine.status == 200);
        CHECK(mine.body.find("0310002B") != std::string::npos);
        for (const char *other : {"0310001A", "0310003C", "0310004D", "bad magic"})
            CHECK(mine.body.find(other) == std::string::npos);
        CHECK(seeded.get(limited, prefix + "/remontees?etab=0310001A").status == 403);
    }
}

TEST_CASE("pages_status_reading: a week of files streamed from an index that holds them") {
    Seeded seeded;
    std::string error;
    INFO(error);
    const int64_t h0 = (kReference / 3600 - 30) * 3600;
    std::vector<sonde::console::SnapshotRow> rows;
    for (uint64_t q = 0; q < 40; ++q)  // a generation above 2^63, as SQLite stores it signed
        rows.push_back(snapshot_row(
            "0310001A", 11 + q, 0x8000000000000001ULL, h0 + 900 * q, h0 + 900 * q + 7,
            q == 7 ? std::nullopt
                   : std::optional(cover(h0 + 3600 * (q / 4), h0 + 3600 * (q / 4 + 1)))));
    rows.push_back(snapshot_row("0310002B", 11, 7, h0, h0 + 5, std::nullopt, "unreadable"));
    REQUIRE(seeded.store->apply(rows, {}, &error));
    // query_each hands over the same rows, NULLs included, as query copies them.
    const std::string sql =
        "SELECT base, generation, coverage, received_unix - created_unix FROM snapshots WHERE "
        "base IN (?, ?) ORDER BY base, sequence";
    std::vector<Reader::Row> copied;
    REQUIRE(seeded.reader->query(sql, {"0310001A", "0310002B"}, copied, &error));
    std::vector<Reader::Row> streamed;
    REQUIRE(seeded.reader->query_each(
        sql, {"0310001A", "0310002B"},
        [&](Reader::RowView r) {
            Reader::Row row;
            for (const auto &c : r)
                row.push_back(c ? std::optional(std::string(*c)) : std::nullopt);
            streamed.push_back(row);
        },
        &error));
    CHECK(copied.size() == 43);  // 40, 1, and the seeded snapshots of the two
    CHECK(streamed == copied);
    CHECK(std::count_if(copied.begin(), copied.end(),
                        [](const Reader::Row &r) { return !r[2].has_value(); }) == 4);
    // The page reads them through one index holding every column it asks for (docs/console.md,
    // État des remontées): on SQLite the plan says so; on both the former index is gone.
    std::vector<Reader::Row> found;
    if (postgres()) {
        REQUIRE(
            seeded.reader->query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename "
                                 "= 'snapshots' AND schemaname = current_schema()",
                                 {}, found, &error));
    } else {
        REQUIRE(seeded.reader->query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'snapshots'",
            {}, found, &error));
        std::vector<Reader::Row> plan;
        for (const std::string q :
             {"SELECT base, generation, coverage FROM snapshots WHERE base IN (?, ?) AND "
              "received_unix >= ? AND status = 'applied' AND coverage IS NOT NULL",
              "SELECT base, MIN(received_unix - created_unix) FROM snapshots WHERE base IN (?, ?) "
              "AND received_unix >= ? AND created_unix > 0 GROUP BY base"}) {
            REQUIRE(seeded.reader->query("EXPLAIN QUERY PLAN " + q, {"0310001A", "0310002B", "0"},
                                         plan, &error));
            std::string text;
            for (const auto &r : plan) text += (r.back() ? *r.back() : "") + "\n";
            INFO(q << "\n" << text);
            CHECK(text.find("COVERING INDEX snapshots_feed") != std::string::npos);
        }
    }
    std::string names;
    for (const auto &r : found) names += (r[0] ? *r[0] : "") + " ";
    INFO(names);
    CHECK(names.find("snapshots_feed") != std::string::npos);
    CHECK(names.find("snapshots_received") == std::string::npos);
    // And the page finds the gap of the file without coverage's hour... none: coverage of the
    // other files of that hour covers it; the chain is whole, 10 hours complete.
    const json status = json::parse(seeded.get(administrator(), "/api/remontees").body);
    for (const json &e : status["establishments"])
        if (e["uai"] == "0310001A") {
            CHECK(e["coverage_seen"] == true);
            CHECK(e["gap_hours"] == 0);
            CHECK(e["complete_until_unix"] == h0 + 36000);
            CHECK(e["skew_seconds"] == 7);
        }
}

TEST_CASE("pages_pdf: the page printed, with its figures, filters, data date and page numbers") {
    Seeded seeded;
    const sonde::console::PdfOptions options = pdf_options(seeded.setup.dir.path);
    const std::string target = "/menus/demandes-travaux/etablissements?periode=mois-dernier";
    const auto html = seeded.get(administrator(), target);
    REQUIRE(html.status == 200);
    const auto pdf = seeded.get(administrator(), "/pdf" + target, &options, tiny_png_uri());
    INFO(pdf.body.substr(0, 300));
    REQUIRE(pdf.status == 200);
    CHECK(pdf.content_type == "application/pdf");
    REQUIRE(pdf.body.starts_with("%PDF"));
    const std::vector<std::string> pages = pdf_pages(seeded.setup.dir.path, pdf.body);
    REQUIRE_FALSE(pages.empty());
    std::string all;
    for (const std::string &p : pages) all += p;
    INFO(all);
    // Page numbers "page X / Y" on every page.
    for (size_t i = 0; i < pages.size(); ++i)
        CHECK(squeeze(pages[i]).find(squeeze("page " + std::to_string(i + 1) + " / " +
                                             std::to_string(pages.size()))) != std::string::npos);
    // The filters and the data date.
    CHECK(squeeze(all).find(squeeze("Période : Mois dernier")) != std::string::npos);
    CHECK(squeeze(all).find(squeeze("Établissements : tous (4)")) != std::string::npos);
    CHECK(squeeze(all).find(squeeze("Données au 24/11/2026")) != std::string::npos);
    CHECK(squeeze(all).find("Département31") != std::string::npos);
    // Every row's figures, as the page shows them, on that establishment's line.
    const ParsedTable t = parse_table(html.body, "demandes-travaux");
    REQUIRE(t.rows.size() == 4);
    for (size_t r = 0; r < t.rows.size(); ++r) {
        const size_t at = all.find(t.uais[r]);
        REQUIRE(at != std::string::npos);
        std::string line = squeeze(all.substr(at, all.find('\n', at) - at));
        for (const std::string cue : {"▲", "▼"})  // the extremes' non-colour cue
            for (size_t p; (p = line.find(cue)) != std::string::npos;) line.erase(p, cue.size());
        std::string cells;
        for (const ParsedCell &c : t.rows[r]) cells += squeeze(c.text);
        INFO(t.uais[r] << ": " << line);
        CHECK(line.find(cells) != std::string::npos);
    }
    std::string totals;
    for (const ParsedCell &c : t.total) totals += squeeze(c.text);
    CHECK(squeeze(all).find("Total" + totals) != std::string::npos);
    // The navigation and the forms are not printed.
    CHECK(all.find("Afficher") == std::string::npos);
    CHECK(all.find("Export CSV") == std::string::npos);

    // A long table: its header on every page.
    const auto daily = seeded.get(administrator(), "/pdf/menus/connexions/journalier", &options);
    REQUIRE(daily.status == 200);
    const std::vector<std::string> daily_pages = pdf_pages(seeded.setup.dir.path, daily.body);
    static const std::regex day_row(R"re((^|\n)\s*\d\d/\d\d/2026\s+\d)re");
    size_t with_rows = 0;
    for (const std::string &p : daily_pages) {
        if (!std::regex_search(p, day_row)) continue;
        ++with_rows;
        INFO(p);
        CHECK(squeeze(p).find("JourConnexionsPersonnesdifférentes") != std::string::npos);
    }
    CHECK(with_rows >= 2);  // the 28 days' table runs over two pages at least

    // Rights as for the page: another establishment is refused before anything is printed.
    Principal limited;
    limited.collectivite = "Département 31";
    limited.user = "agent@cd31.fr";
    limited.establishments = {"0310002B"};
    limited.categories = {"demandes-travaux"};
    CHECK(seeded.get(limited, "/pdf" + target + "&etab=0310001A", &options).status == 403);
    CHECK(seeded.get(limited, "/pdf/menus/social/synthese", &options).status == 403);
    const auto mine = seeded.get(limited, "/pdf/remontees", &options);
    REQUIRE(mine.status == 200);
    const std::vector<std::string> mine_pages = pdf_pages(seeded.setup.dir.path, mine.body);
    std::string mine_text;
    for (const std::string &p : mine_pages) mine_text += p;
    CHECK(mine_text.find("0310002B") != std::string::npos);
    for (const char *other : {"0310001A", "0310003C", "0310004D"})
        CHECK(mine_text.find(other) == std::string::npos);
    // Without a converter configured: 503, never a page pretending to be a PDF.
    CHECK(seeded.get(limited, "/pdf/remontees").status == 503);
    sonde::console::PdfOptions missing = options;
    missing.program = seeded.setup.dir.path + "/no-such-weasyprint";
    CHECK(seeded.get(limited, "/pdf/remontees", &missing).status == 500);
}

TEST_CASE("pages_home_years: the home's accounts filtered by the school year of the readings") {
    Seeded seeded;
    std::string error;
    INFO(error);
    // A fifth establishment whose accounts were last read in March 2026: school year 2025 (it
    // starts in September 2025), while the others' were read in November 2026 (school year 2026).
    Snapshot s = school(0, 77, "0310005E");
    s.segment_generation = 0x2000;
    const int64_t march = 1773014400;  // 2026-03-09, school year 2025
    s.created_unix = march + 3600;
    for (auto &g : s.gauges) g.set_unix = march;
    std::vector<sonde::console::FigureRow> rows;
    sonde::console::figure_rows(to_proto(s), rows);
    REQUIRE(seeded.store->apply(
        {snapshot_row("0310005E", 10, 0x2000, march + 3600, march + 3700, std::nullopt)}, rows,
        &error));
    Principal who = administrator();
    who.establishments.insert("0310005E");
    auto accounts = [&](const std::string &query) {
        const auto a = seeded.get(who, "/api/" + query);
        INFO(query << " " << a.body.substr(0, 500));
        REQUIRE(a.status == 200);
        const json j = json::parse(a.body);
        CHECK(j["years"] == json::array({2025, 2026}));
        std::map<std::string, std::string> state;  // uai -> the total column's state
        for (const json &row : j["tables"][0]["rows"]) state[row["uai"]] = row["cells"][0]["state"];
        return state;
    };
    for (const auto &[uai, st] : accounts("")) CHECK(st == "known");
    const auto y2025 = accounts("?annee=2025");
    const auto y2026 = accounts("?annee=2026");
    for (const std::string &b : kBases) {
        CHECK(y2025.at(b) == "missing");
        CHECK(y2026.at(b) == "known");
    }
    CHECK(y2025.at("0310005E") == "known");
    CHECK(y2026.at("0310005E") == "missing");
    // The page offers the years, the one chosen selected, in the query string.
    const auto page = seeded.get(who, "/?annee=2025");
    REQUIRE(page.status == 200);
    CHECK(page.body.find("<select name=\"annee\">") != std::string::npos);
    CHECK(page.body.find("<option value=\"2025\" selected>2025-2026</option>") !=
          std::string::npos);
    CHECK(page.body.find("<option value=\"2026\">2026-2027</option>") != std::string::npos);
    for (const char *bad :
         {"/?annee=25", "/?annee=abcd", "/?annee=1900", "/menus/comptes/etablissements?annee=2025"})
        CHECK(seeded.get(who, bad).status == 400);
}

TEST_CASE("pages_status_skew: the clock skew measured at upload, else reception - creation") {
    Seeded seeded;
    std::string error;
    INFO(error);
    const int64_t h0 = (kReference / 3600 - 30) * 3600;
    // Files of the last 7 days: received 5 s after their creation (0310001A, 0310004D), 10 min
    // before (0310002B).
    REQUIRE(seeded.store->apply({snapshot_row("0310001A", 11, 0x1000, h0, h0 + 5, std::nullopt),
                                 snapshot_row("0310002B", 11, 0x1001, h0, h0 - 600, std::nullopt),
                                 snapshot_row("0310004D", 11, 0x1003, h0, h0 + 5, std::nullopt)},
                                {}, &error));
    // Measured at upload: 0310001A's clock 5 min behind, 0310002B's 90 s ahead; 0310003C's
    // measure is older than 7 days (not shown); 0310004D's uplink sends no Date (none).
    REQUIRE(seeded.store->record_skews({{"0310001A", 300, kReference - 3600},
                                        {"0310002B", -90, kReference - 100},
                                        {"0310003C", 42, kReference - 8 * 86400}},
                                       &error));
    // An older measure never replaces a newer one.
    REQUIRE(seeded.store->record_skews({{"0310001A", 999, kReference - 7200}}, &error));

    const auto api = seeded.get(administrator(), "/api/remontees");
    REQUIRE(api.status == 200);
    const json j = json::parse(api.body);
    std::map<std::string, json> by;
    for (const json &e : j["establishments"]) by[e["uai"]] = e;
    REQUIRE(by.size() == 4);
    CHECK(by["0310001A"]["skew_seconds"] == 300);
    CHECK(by["0310001A"]["skew_source"] == "upload_date");
    CHECK(by["0310001A"]["skew_measured_unix"] == kReference - 3600);
    CHECK(by["0310002B"]["skew_seconds"] == -90);
    CHECK(by["0310002B"]["skew_source"] == "upload_date");
    CHECK(by["0310003C"]["skew_seconds"].is_null());
    CHECK(by["0310003C"]["skew_source"].is_null());
    CHECK(by["0310004D"]["skew_seconds"] == 5);  // as before: reception - creation
    CHECK(by["0310004D"]["skew_source"] == "reception_minus_creation");
    CHECK(by["0310004D"]["skew_measured_unix"].is_null());

    const auto page = seeded.get(administrator(), "/remontees");
    REQUIRE(page.status == 200);
    auto row = [&](const std::string &uai) {
        const size_t at = page.body.find("<tr data-uai=\"" + uai + "\">");
        REQUIRE(at != std::string::npos);
        return page.body.substr(at, page.body.find("</tr>", at) - at);
    };
    CHECK(row("0310001A").find("+5 min 00 s (horloge de l&#39;établissement en retard)") !=
          std::string::npos);
    CHECK(row("0310002B").find("−1 min 30 s (horloge de l&#39;établissement en avance)") !=
          std::string::npos);
    CHECK(row("0310004D").find("+5 s (réception − création)") != std::string::npos);
    CHECK(row("0310004D").find("horloge") == std::string::npos);

    const auto csv = seeded.get(administrator(), "/csv/remontees");
    REQUIRE(csv.status == 200);
    CHECK(csv.body.find(";Mesure de l'écart\r\n") != std::string::npos);
    auto line = [&](const std::string &uai) {
        const size_t at = csv.body.find("\n" + uai + ";");
        REQUIRE(at != std::string::npos);
        return csv.body.substr(at + 1, csv.body.find("\r\n", at) - at - 1);
    };
    CHECK(line("0310001A").ends_with(";à l'envoi"));
    CHECK(line("0310001A").find(";300;") != std::string::npos);
    CHECK(line("0310004D").ends_with(";réception − création"));
    CHECK(line("0310003C").ends_with(";nd"));
}

TEST_CASE("pages_home_history: the accounts of every school year, the last reading of each") {
    using sonde::console::school_year_of_unix;
    // School years start on 1 September (UTC date): 2025-08-31 23:59:59 is in 2024-2025.
    CHECK(school_year_of_unix(1756684799) == 2024);
    CHECK(school_year_of_unix(1756684800) == 2025);
    CHECK(school_year_of_unix(1772323200) == 2025);  // 2026-03-01
    CHECK(school_year_of_unix(951782400) == 1999);   // 2000-02-29
    CHECK(school_year_of_unix(0) == 1969);           // 1970-01-01
    CHECK(school_year_of_unix(-1) == 1969);

    // A reading's school year is the establishment's own: the snapshot's newest school-year
    // window opened by its creation. Réunion (UTC+4) opens 2025-2026 at 2025-08-31 20:00 UTC; a
    // file of 22:00 UTC (1 September, 02:00 there) reads 2025, although its UTC date says 2024.
    {
        using sonde::console::FigureRow;
        using sonde::console::school_year_of_reading;
        constexpr int64_t kReunionStart = 1756670400;  // 2025-08-31T20:00:00Z
        constexpr int64_t kRead = kReunionStart + 2 * 3600;
        auto window = [](uint32_t kind, int64_t start, uint32_t number) {
            FigureRow f;
            f.window_kind = kind;
            f.window_start = start;
            f.window_number = number;
            return f;
        };
        const std::vector<FigureRow> figures{
            window(4, kReunionStart - 365 * 86400, 2024),  // the closed year's final figures
            window(3, kReunionStart, 9),                   // a month: not a school year
            window(4, kReunionStart, 2025),
            window(4, kRead + 1, 2026),  // opened after the reading: ignored
        };
        CHECK(school_year_of_unix(kRead) == 2024);
        CHECK(school_year_of_reading(figures, 0, figures.size(), kRead) == 2025);
        CHECK(school_year_of_reading(figures, 0, 2, kRead) == 2024);  // 2024's window only
        CHECK(school_year_of_reading(figures, 1, 2, kRead) == 2024);  // none: the UTC date's
        std::vector<sonde::console::GaugeYearRow> rows;
        std::vector<FigureRow> with_gauge = figures;
        FigureRow gauge;
        gauge.base = "9740001A";
        gauge.family = uint32_t(sonde::snapshot::IngestStore::Family::Gauge);
        gauge.value = 42;
        with_gauge.push_back(gauge);
        sonde::console::add_gauge_years(with_gauge, 0, kRead, rows);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].school_year == 2025);
        CHECK(rows[0].value == 42);
    }

    Seeded seeded;  // the four establishments, sequence 10, created 2026-11-24: 2026-2027
    std::string error;
    INFO(error);
    constexpr int64_t kMarch = 1773014400;  // 2026-03-09: 2025-2026
    // Readings of another school year, carried by older files (sequence 5) of 0310001A and
    // 0310002B, created in March 2026, with other values.
    sonde::snapshot::IngestStore last_year;
    auto file = [&](size_t i, uint64_t seed, uint64_t sequence, int64_t created) {
        Snapshot s = school(i, seed);
        s.sequence = sequence;
        s.created_unix = created;
        for (auto &g : s.gauges) g.set_unix = created - 60;
        return to_proto(s);
    };
    auto apply = [&](const std::vector<v1::Snapshot> &files) {
        std::vector<sonde::console::SnapshotRow> snaps;
        std::vector<sonde::console::FigureRow> rows;
        for (const v1::Snapshot &p : files) {
            sonde::console::figure_rows(p, rows);
            snaps.push_back(snapshot_row(p.base_id(), p.sequence(), p.segment_generation(),
                                         p.created_unix(), p.created_unix() + 60, std::nullopt));
        }
        REQUIRE(seeded.store->apply(snaps, rows, &error));
    };
    std::vector<v1::Snapshot> march = {file(0, 5000, 5, kMarch), file(1, 5001, 5, kMarch)};
    for (const auto &p : march) last_year.ingest(p);
    apply(march);
    apply(march);  // the same files again: nothing changes
    // An older file (sequence 7) of 0310003C created this school year: it never replaces the
    // reading of the newer file (sequence 10) of the same year.
    apply({file(2, 6002, 7, kReference - 86400)});

    const std::set<uint32_t> teachers = {SONDE_GAUGE_ACCOUNTS_TEACHER},
                             boys = {SONDE_GAUGE_ACCOUNTS_STUDENT_BOY};
    const std::vector<std::pair<size_t, std::set<uint32_t>>> columns = {{2, teachers}, {8, boys}};
    Principal who = administrator();
    auto home = [&](const std::string &query) {
        const auto a = seeded.get(who, "/api/" + query);
        INFO(query << " " << a.body.substr(0, 500));
        REQUIRE(a.status == 200);
        return json::parse(a.body);
    };
    auto cells = [&](const json &j) {
        std::map<std::string, json> out;  // uai -> cells
        for (const json &row : j["tables"][0]["rows"]) out[row["uai"]] = row["cells"];
        return out;
    };
    for (const std::string &query :
         {std::string(""), std::string("?annee=2025"), std::string("?annee=2026")}) {
        const json j = home(query);
        CHECK(j["years"] == json::array({2025, 2026}));
        REQUIRE(j["tables"][0]["columns"][2]["id"] == "enseignants");
        REQUIRE(j["tables"][0]["columns"][8]["id"] == "garcons");
        const auto by_uai = cells(j);
        for (size_t b = 0; b < kBases.size(); ++b)
            for (const auto &[col, ids] : columns) {
                INFO(query << " " << kBases[b] << " column " << col);
                const json &c = by_uai.at(kBases[b])[col];
                if (query == "?annee=2025" && b >= 2) {
                    CHECK(c["state"] == "missing");  // no reading in 2025-2026
                } else {
                    // The latest and 2026-2027: the newest files; 2025-2026: March's.
                    const auto &ref = query == "?annee=2025" ? last_year : seeded.reference;
                    CHECK(c["state"] == "known");
                    CHECK(c["value"] == gauges(ref, kBases[b], ids).value);
                }
            }
        // The accounts per school year: each year's total over the establishments read then.
        const json &per_year = j["per_year"];
        REQUIRE(per_year["rows"].size() == 2);
        CHECK(per_year["columns"][2]["id"] == "enseignants");
        for (const json &y : per_year["rows"]) {
            const bool old = y["year"] == 2025;
            CHECK(y["establishments"] == (old ? 2 : 4));
            for (const auto &[col, ids] : columns) {
                int64_t sum = 0;
                for (size_t b = 0; b < (old ? 2u : 4u); ++b)
                    sum += gauges(old ? last_year : seeded.reference, kBases[b], ids).value;
                CHECK(y["cells"][col]["state"] == "known");
                CHECK(y["cells"][col]["value"] == sum);
                CHECK(y["cells"][col]["excluded"] == (old ? 2 : 0));
            }
        }
    }
    // The page: one row per school year, each a link to that year, and its CSV.
    const auto page = seeded.get(who, "/");
    REQUIRE(page.status == 200);
    CHECK(page.body.find("<table class=\"data\" id=\"comptes-par-annee\">") != std::string::npos);
    CHECK(page.body.find("?annee=2025\">2025-2026</a>") != std::string::npos);
    CHECK(page.body.find("?annee=2026\">2026-2027</a>") != std::string::npos);
    const auto csv = seeded.get(who, "/csv/");
    REQUIRE(csv.status == 200);
    CHECK(csv.body.find("\r\nComptes PRONOTE par année scolaire\r\nAnnée scolaire;Total;") !=
          std::string::npos);
    CHECK(csv.body.find("\r\n2025-2026;") != std::string::npos);
    CHECK(csv.body.find("\r\n2026-2027;") != std::string::npos);

    // A newer file of the same school year replaces that year's reading.
    sonde::snapshot::IngestStore april;
    const v1::Snapshot newer = file(0, 7000, 6, kMarch + 30 * 86400);
    april.ingest(newer);
    apply({newer});
    CHECK(cells(home("?annee=2025")).at(kBases[0])[8]["value"] ==
          gauges(april, kBases[0], boys).value);
    CHECK(cells(home("?annee=2026")).at(kBases[0])[8]["value"] ==
          gauges(seeded.reference, kBases[0], boys).value);

    // A database made before the history: at start, the store fills the empty table with each
    // gauge's newest reading, in the school year of its snapshot.
    seeded.store.reset();
    if (postgres()) {
        PGconn *c = PQconnectdb(postgres_conninfo().c_str());
        REQUIRE(PQstatus(c) == CONNECTION_OK);
        PGresult *r =
            PQexec(c, ("DELETE FROM " + seeded.setup.store.schema + ".gauge_years").c_str());
        CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
        PQclear(r);
        PQfinish(c);
        seeded.store = sonde::console::open_postgres_store(
            postgres_conninfo() + " options='-c search_path=" + seeded.setup.store.schema + "'",
            &error);
    } else {
        const std::string path = seeded.setup.dir.path + "/pages.sqlite";
        sqlite3 *db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "DELETE FROM gauge_years", nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
        seeded.store = sonde::console::open_sqlite_store(path, &error);
    }
    REQUIRE(seeded.store);
    const json after = home("");
    CHECK(after["years"] == json::array({2026}));
    const auto by_uai = cells(home("?annee=2026"));
    for (const std::string &b : kBases)
        CHECK(by_uai.at(b)[2]["value"] == gauges(seeded.reference, b, teachers).value);
}

TEST_CASE("pages_pdf_converter: no shell, its own environment and descriptors, bounded") {
    Setup setup;
    const std::string dir = setup.dir.path;
    // Stand-ins for WeasyPrint: shell scripts run as the converter (the console itself runs
    // them without a shell: execve of the script, whose #! line names /bin/sh).
    auto script = [&](const std::string &name, const std::string &body) {
        const std::string path = dir + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n" << body;
        REQUIRE(::chmod(path.c_str(), 0700) == 0);
        return path;
    };
    sonde::console::PdfOptions o;
    o.temp_dir = dir;
    o.timeout_seconds = 120;  // hang guard
    std::string pdf, error;
    // What it gets: the arguments, the environment, the open descriptors. A descriptor the
    // service holds open without close-on-exec is not passed on.
    const int null_fd = ::open("/dev/null", O_RDONLY);
    REQUIRE(null_fd > 2);
    const int leaked = ::fcntl(null_fd, F_DUPFD, 100);  // above those the shell uses itself
    ::close(null_fd);
    REQUIRE(leaked >= 100);
    ::setenv("SONDE_SECRET_FOR_TEST", "x", 1);
    o.program = script("inspect",
                       "out=\"$5\"\n{ echo '%PDF-inspect'; echo \"args:$*\";\n"
                       "  env | sort | sed 's/^/env:/';\n"
                       "  ls /proc/$$/fd | sed 's/^/fd:/'; pwd | sed 's/^/pwd:/'; } "
                       "> \"$out\"\n");
    const auto inspected = sonde::console::html_to_pdf("<p>x</p>", o, pdf, &error);
    ::close(leaked);
    INFO(error);
    REQUIRE(inspected == sonde::console::PdfResult::Ok);
    ::unsetenv("SONDE_SECRET_FOR_TEST");
    INFO(pdf);
    CHECK(pdf.starts_with("%PDF"));
    CHECK(pdf.find("args:--quiet --encoding=utf-8 --base-url=file://" + dir + "/sonde-pdf-") !=
          std::string::npos);
    CHECK(pdf.find("env:SONDE_SECRET_FOR_TEST") == std::string::npos);
    CHECK(pdf.find("env:http_proxy=http://127.0.0.1:9") != std::string::npos);
    CHECK(pdf.find("pwd:" + dir + "/sonde-pdf-") != std::string::npos);
    std::set<std::string> fds;
    for (size_t p = 0; (p = pdf.find("fd:", p)) != std::string::npos; p += 3)
        fds.insert(pdf.substr(p + 3, pdf.find('\n', p) - p - 3));
    // 0, 1, 2, and the shell's and ls's own (the script, the output, the directory listed).
    CHECK(fds.count(std::to_string(leaked)) == 0);
    for (const std::string &fd : fds) CHECK(std::stoi(fd) < 100);
    // The working directory is gone afterwards.
    size_t left = 0;
    for (const auto &e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().starts_with("sonde-pdf-")) ++left;
    CHECK(left == 0);

    // Output that is not a PDF, a failing converter, a missing one: errors, no bytes.
    o.program = script("text", "echo hello > \"$5\"\n");
    CHECK(sonde::console::html_to_pdf("<p>x</p>", o, pdf, &error) ==
          sonde::console::PdfResult::Failed);
    CHECK(pdf.empty());
    o.program = script("fails", "echo broken >&2; exit 3\n");
    CHECK(sonde::console::html_to_pdf("<p>x</p>", o, pdf, &error) ==
          sonde::console::PdfResult::Failed);
    CHECK(error.find("exit 3") != std::string::npos);
    CHECK(error.find("broken") != std::string::npos);
    o.program = dir + "/absent";
    CHECK(sonde::console::html_to_pdf("<p>x</p>", o, pdf, &error) ==
          sonde::console::PdfResult::Failed);
    // Output over the bound: refused (the converter cannot even write it).
    o.program = script("big", "{ echo '%PDF'; head -c 300000 /dev/zero; } > \"$5\"\n");
    o.max_bytes = 100000;
    CHECK(sonde::console::html_to_pdf("<p>x</p>", o, pdf, &error) ==
          sonde::console::PdfResult::Failed);
    CHECK(pdf.empty());
    o.max_bytes = 32 << 20;
    // A converter that hangs is killed with its children when the time is up.
    const std::string pids = dir + "/pids";
    o.program =
        script("hangs", "sleep 600 &\necho $! > '" + pids + "'\necho $$ >> '" + pids + "'\nwait\n");
    o.timeout_seconds = 1;
    CHECK(sonde::console::html_to_pdf("<p>x</p>", o, pdf, &error) ==
          sonde::console::PdfResult::Failed);
    CHECK(error.find("timed out") != std::string::npos);
    std::ifstream in(pids);
    size_t checked = 0;
    for (long pid; in >> pid; ++checked) {
        // Gone (reaped by us, or by init once its parent died) or a zombie about to be reaped;
        // a process killed may take a moment to finish exiting on a loaded machine.
        bool dead = false;
        std::string line;
        for (int i = 0; i < 400 && !dead; ++i) {  // hang guard
            std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
            line.clear();
            std::getline(stat, line);
            const size_t close = line.rfind(')');
            dead =
                ::kill(pid_t(pid), 0) != 0 ||
                (close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z');
            if (!dead) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        INFO("pid " << pid << " " << line);
        CHECK(dead);
    }
    CHECK(checked == 2);
    // At most max_concurrent at once: the next one is told to come back.
    o.timeout_seconds = 120;
    o.max_concurrent = 1;
    const std::string gate = dir + "/gate";
    o.program = script("slow", "while [ ! -e '" + gate +
                                   "' ]; do sleep 0.05; done\n"
                                   "echo '%PDF' > \"$5\"\n");
    std::thread first([&] {
        std::string p, e;
        CHECK(sonde::console::html_to_pdf("<p>x</p>", o, p, &e) == sonde::console::PdfResult::Ok);
    });
    // Wait until the first conversion runs (its working directory exists), then try another.
    for (int i = 0; i < 2400; ++i) {  // hang guard
        bool running = false;
        for (const auto &e : std::filesystem::directory_iterator(dir))
            running |= e.path().filename().string().starts_with("sonde-pdf-");
        if (running) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(sonde::console::html_to_pdf("<p>x</p>", o, pdf, &error) ==
          sonde::console::PdfResult::Busy);
    std::ofstream(gate) << "go";
    first.join();
}
