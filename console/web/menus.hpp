#pragma once
// The console's menu tree (docs/console.md#the-menus): the 7 menus of the Console territoriale
// guide, their widgets (the categories of the rights model, console/principal.hpp) and the
// columns of their tables, each column tied to a catalogue indicator. The tree is checked
// against the catalogue (catalog/indicators.tsv through catalog_layout.hpp): every column's
// indicator belongs to its menu's theme, and every one of the 80 indicators is shown somewhere
// (tests/console/test_pages.cc).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::console::web {

// Where a number comes from, in one establishment's figures for one period.
struct Quantity {
    enum class Source : uint8_t { None, Value, Gauge, Distinct, Distribution };
    Source source = Source::None;
    uint32_t measure_kind = 0;  // Value: 1 event, 2 tally, 3 connection
    std::vector<uint32_t> ids;  // events, tallies or gauges, summed; Distribution: one tally
    // Value of connections: bit v-1 for each profile, medium and access value summed.
    // Distinct: the exact selection the snapshot carries (docs/snapshot.md#distinct-users).
    uint32_t profiles = 0, media = 0, accesses = 0;
    int bin = -1;  // Distribution: one bin's students, or -1 for every student
};

struct Column {
    std::string id;          // for sorting, JSON and CSV
    std::string label;       // French, as the page shows it
    uint16_t indicator = 0;  // catalogue indicator (1..80)
    Quantity num;
    Quantity den;  // Valeurs / T%: num / den in percent; none: the same in both modes
    enum class Kind : uint8_t { Count, Ratio, Percent, BasisPoints };
    // Count: num (T%: 100 num/den when den). Ratio: num/den always (élèves par enseignant).
    // Percent: 100 num/den always (% mobile). BasisPoints: num / 100 as a percentage, not
    // additive (no total).
    Kind kind = Kind::Count;
};

// "Détails par niveaux": one table per quantity, a column per class level.
struct LevelTable {
    std::string id, label;
    uint16_t indicator = 0;
    Quantity quantity;
};

struct Widget {
    std::string id;  // the category: "menu/widget", or the menu's own id when it has one table
    std::string label;
    std::vector<Column> columns;
    std::vector<LevelTable> levels;
};

struct Menu {
    std::string id, label;
    std::string theme;         // the catalogue's theme
    uint16_t referential = 0;  // the catalogue's "Référentiel ... par établissement" indicator
    bool has_rates = false;    // Valeurs / T% switch on Par établissement
    std::vector<Widget> widgets;
};

const std::vector<Menu> &menus();
const Menu *find_menu(std::string_view id);

}  // namespace sonde::console::web
