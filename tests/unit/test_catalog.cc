#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "catalog_layout.hpp"
#include "temp_dir.hpp"

using namespace sonde::catalog;

namespace {
std::string slurp(const std::string &path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}
}  // namespace

TEST_CASE("every one of the 80 indicators is mapped", "[catalog]") {
    std::set<int> ids;
    for (const Indicator &i : kIndicators) {
        INFO(i.id << " " << i.key);
        ids.insert(i.id);
        CHECK(std::string(i.source).size() > 0);
        CHECK(std::string(i.key).size() > 0);
    }
    CHECK(ids.size() == 80);
    CHECK(*ids.begin() == 1);
    CHECK(*ids.rbegin() == 80);
}

TEST_CASE("the six 'Établissements seuls' indicators are school-only", "[catalog]") {
    std::set<int> school_only;
    for (const Indicator &i : kIndicators)
        if (i.audience == Audience::SchoolOnly) school_only.insert(i.id);
    CHECK(school_only == std::set<int>{28, 29, 30, 31, 32, 35});
}

TEST_CASE("enum values and layout are consistent", "[catalog]") {
    CHECK(SONDE_EV_INFORMATION_PUBLISHED == 1);
    CHECK(SONDE_PROFILE_STUDENT == 1);
    std::set<uint32_t> cells;
    for (uint32_t e = 1; e <= kEventCount; ++e)
        for (uint32_t l = 0; l < (kEvents[e].per_level ? kLevelSlots : 1); ++l)
            CHECK(cells.insert(kEvents[e].first + l).second);
    for (uint32_t t = 1; t <= kTallyCount; ++t)
        for (uint32_t l = 0; l < (kTallies[t].per_level ? kLevelSlots : 1); ++l)
            CHECK(cells.insert(kTallies[t].first + l).second);
    for (uint32_t c = 0; c < kConnectionCells; ++c) CHECK(cells.insert(c).second);
    CHECK(cells.size() == kCounterCells);  // every cell belongs to exactly one measure
    CHECK(*cells.rbegin() == kCounterCells - 1);
}

TEST_CASE("docs/indicators.md is the generated table", "[catalog]") {
    const std::string committed = slurp(std::string(SONDE_SOURCE_DIR) + "/docs/indicators.md");
    const std::string generated = slurp(std::string(SONDE_GENERATED_DIR) + "/indicators.md");
    REQUIRE_FALSE(generated.empty());
    CHECK(committed == generated);  // if this fails: cp build/generated/indicators.md docs/
}

TEST_CASE("the generator rejects an unmapped indicator", "[catalog]") {
    const TempDir dir_tmp("sonde-catalog-");
    const std::string &dir = dir_tmp.path;
    const std::string src = std::string(SONDE_SOURCE_DIR) + "/catalog";
    for (const char *f : {"measures.tsv", "dimensions.tsv", "layout.tsv"})
        std::ofstream(dir + "/" + f) << slurp(src + "/" + f);
    std::string indicators = slurp(src + "/indicators.tsv");
    const std::string needle = "\tsum(77,78,79)\t";
    REQUIRE(indicators.find(needle) != std::string::npos);
    const std::string gen = "python3 " + std::string(SONDE_SOURCE_DIR) +
                            "/tools/gen_catalog.py --catalog " + dir + " > /dev/null 2>&1";
    std::ofstream(dir + "/indicators.tsv") << indicators;
    CHECK(std::system(gen.c_str()) == 0);
    indicators.replace(indicators.find(needle), needle.size(), "\t\t");
    std::ofstream(dir + "/indicators.tsv") << indicators;
    CHECK(std::system(gen.c_str()) != 0);
}

// Minimisation: hourly figures are for connections only, daily ones for connections and
// distinct users only, and every indicator has the period views (catalog column `views`).
TEST_CASE("the generator checks the views of each indicator", "[catalog]") {
    const TempDir dir_tmp("sonde-catalog-");
    const std::string &dir = dir_tmp.path;
    const std::string src = std::string(SONDE_SOURCE_DIR) + "/catalog";
    for (const char *f : {"measures.tsv", "dimensions.tsv", "layout.tsv"})
        std::ofstream(dir + "/" + f) << slurp(src + "/" + f);
    const std::string indicators = slurp(src + "/indicators.tsv");
    const std::string gen = "python3 " + std::string(SONDE_SOURCE_DIR) +
                            "/tools/gen_catalog.py --catalog " + dir + " > /dev/null 2>&1";
    const std::string periods = "last_day,current_month,last_month,current_year,last_year";
    // Indicator 26 (late arrivals) is the line that starts with "26\t".
    const size_t line = indicators.find("\n26\t") + 1;
    const size_t views = indicators.find("\t" + periods + "\n", line) + 1;
    REQUIRE(views > line);
    auto with = [&](const std::string &replacement) {
        std::string text = indicators;
        text.replace(views, periods.size(), replacement);
        std::ofstream(dir + "/indicators.tsv") << text;
        return std::system(gen.c_str());
    };
    CHECK(with(periods) == 0);
    CHECK(with("hourly," + periods) != 0);  // absences hour by hour: not shown, never sent
    CHECK(with("hourly:total," + periods) != 0);
    CHECK(with("daily:total," + periods) != 0);
    CHECK(with("daily," + periods) != 0);
    CHECK(with("last_day:total,current_month,last_month,current_year,last_year") != 0);
    CHECK(with("last_day,current_month,last_month,current_year") != 0);  // last_year missing
    CHECK(with("weekly," + periods) != 0);
    CHECK(with(periods + ",last_day") != 0);
    // Connections (indicator 59): the guide's hour and day series show one total per
    // establishment (Suivi heure par heure, Suivi journalier), never the profile x medium x
    // access breakdown: the series must be written `:total`.
    const size_t line59 = indicators.find("\n59\t") + 1;
    const std::string series = "hourly:total,daily:total," + periods + "\n";
    const size_t views59 = indicators.find("\t" + series, line59) + 1;
    REQUIRE(views59 > line59);
    auto with59 = [&](const std::string &replacement) {
        std::string text = indicators;
        text.replace(views59, series.size() - 1, replacement);
        std::ofstream(dir + "/indicators.tsv") << text;
        return std::system(gen.c_str());
    };
    CHECK(with59("hourly:total,daily:total," + periods) == 0);
    CHECK(with59("hourly,daily:total," + periods) != 0);  // the breakdown hour by hour
    CHECK(with59("hourly:total,daily," + periods) != 0);
    CHECK(with59("hourly:all,daily:total," + periods) != 0);
}
