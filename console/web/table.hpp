#pragma once
// A page's table, computed once and rendered as HTML, JSON or CSV (docs/console.md): cells with
// their state (a figure, a rounded or partial one, a held-back one, none), totals as ratios of
// sums, and the minima and maxima of each column among the figures known exactly.

#include <optional>
#include <string>
#include <vector>

#include "data.hpp"
#include "menus.hpp"

namespace sonde::console::web {

enum class State : uint8_t { Known, Rounded, Suppressed, Missing };

// One quantity of one establishment: a sum of figures, and the worst state among them.
struct Amount {
    int64_t value = 0;
    State state = State::Missing;
};
// `levels`: only these level slots (empty: every level).
Amount evaluate(const Quantity &q, const BaseFigures &b, const std::vector<uint32_t> &levels = {});

struct Cell {
    State state = State::Missing;
    double value = 0;  // what is shown
    bool integer = true;
    bool is_max = false, is_min = false;
};

struct TableColumn {
    std::string id, label;
    uint16_t indicator = 0;
    bool rate = false;  // shown as a percentage
};

struct TableRow {
    Establishment establishment;
    int64_t fresh = 0;  // created_unix of the newest applied snapshot, 0 if none
    std::vector<Cell> cells;
};

struct Table {
    std::string id, label;  // the widget or level table
    std::vector<TableColumn> columns;
    std::vector<TableRow> rows;
    std::vector<Cell> total;
    std::vector<size_t> excluded;  // per column: establishments left out of the total
};

enum class Mode : uint8_t { Values, Rates };

Table widget_table(const Widget &w, const Scope &scope,
                   const std::map<std::string, BaseFigures> &figures, Mode mode);
Table level_table(const LevelTable &t, const Scope &scope,
                  const std::map<std::string, BaseFigures> &figures, Mode mode);

// Sorts rows by a column id (or "nom", "uai", "commune"), missing figures last.
void sort_table(Table &t, const std::string &column, bool descending);

// "1 234", "12,5 %", "s", "≈ 10", "—": the French text of a cell (no HTML).
std::string cell_text(const Cell &c, bool rate);
std::string number_text(double v, bool integer, bool rate);

}  // namespace sonde::console::web
