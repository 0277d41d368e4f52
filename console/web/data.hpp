#pragma once
// The data layer of the pages (docs/console.md#the-data-layer): what one Principal may read of
// `window_figures`, `snapshots` and `establishments`, for one period. Nothing here reads a
// figure without a Principal: the UAIs asked for are intersected with its establishments
// before any query.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "civil.hpp"
#include "menus.hpp"
#include "principal.hpp"
#include "reader.hpp"
#include "store.hpp"

namespace sonde::console::web {

enum class Period : uint8_t { LastDay, CurrentMonth, LastMonth, CurrentYear, LastYear };
inline constexpr Period kPeriods[] = {Period::LastDay, Period::CurrentMonth, Period::LastMonth,
                                      Period::CurrentYear, Period::LastYear};
const char *period_id(Period p);     // dernier-jour, mois-en-cours, ...
const char *period_label(Period p);  // Dernier jour, Mois en cours, ...
bool parse_period(std::string_view id, Period &out);

// Local calendar numbers, as the snapshots' windows carry them (docs/snapshot.md#windows):
// days_from_civil and civil_from_days of civil.hpp.
std::string date_text(int64_t day);  // "24/11/2026"

// The window a period reads, from the reference day (a local day number): kind (2 day, 3 month,
// 4 school year) and number. School years start on 1 September.
struct WindowRef {
    uint32_t kind = 0;
    int64_t number = 0;
};
WindowRef period_window(Period p, int64_t reference_day);
// The school year (number) whose distributions a period shows: the period's own for the two
// year periods, the reference day's otherwise (distributions are per school year only).
int64_t distribution_year(Period p, int64_t reference_day);

struct Fig {
    int64_t value = 0;
    bool suppressed = false, rounded = false, partial = false;
    int64_t set_unix = 0;  // gauges: when the reading was taken
};
struct Dist {
    std::vector<int64_t> students;  // per bin
    bool suppressed = false, rounded = false, partial = false;
};

// One establishment's figures for one period.
struct BaseFigures {
    bool has_window = false;  // a value or distinct figure at the period's window: absent = 0
    std::map<std::array<uint32_t, 6>, Fig> values;    // kind, id, level, profile, medium, access
    std::map<std::array<uint32_t, 3>, Fig> distinct;  // profiles, media, accesses
    std::map<std::array<uint32_t, 2>, Fig> gauges;    // gauge, level
    std::map<std::array<uint32_t, 2>, Dist> distributions;  // tally, level
    std::map<uint32_t, std::string> levels;                 // slot -> label
};

struct Scope {
    std::vector<Establishment> establishments;  // readable and asked for, by name then UAI
    std::map<std::string, int64_t> fresh;       // UAI -> newest applied snapshot's created_unix
};

// The establishments a Principal asks for: `wanted` (empty: all) within its own, with names,
// communes and time zones (the UAI as name when `establishments` has no row), and freshness.
bool load_scope(Reader &reader, const Principal &who, const std::vector<std::string> &wanted,
                Scope &out, std::string *error);

// Figures of the scope's establishments for the quantities `needed`: values and distinct
// users at `window`, the latest gauges, the distributions of school year `year`, and the level
// labels when `levels`. `has_window` says whether an establishment has any value or distinct
// figure at `window` (of any measure).
bool load_figures(Reader &reader, const Scope &scope, WindowRef window, int64_t year,
                  const std::vector<const Quantity *> &needed, bool levels,
                  std::map<std::string, BaseFigures> &out, std::string *error);

// The gauges' history (table `gauge_years`, docs/console.md#home-and-its-year-filter) of gauges
// `gauge_ids` for the scope's establishments: per school year (by the year it starts), per UAI,
// the last reading of each (gauge, level) carried by a snapshot created during that year.
using GaugeHistory =
    std::map<int64_t, std::map<std::string, std::map<std::array<uint32_t, 2>, Fig>>>;
bool load_gauge_history(Reader &reader, const Scope &scope, const std::vector<uint32_t> &gauge_ids,
                        GaugeHistory &out, std::string *error);

// Connexions' series over the scope, summed over establishments: per local day number
// (connection total, distinct people of the daily selection), and per local day and hour of the
// day (connection total), each establishment's hours read in its own local time.
struct Series {
    std::map<int64_t, int64_t> day_connections, day_people;
    std::map<int64_t, bool> day_held;                             // a day with a suppressed part
    std::map<std::pair<int64_t, int>, int64_t> hour_connections;  // (local day, hour 0..23)
    int64_t unplaced = 0;  // connections of hours whose local day is unknown (no day figure)
};
bool load_series(Reader &reader, const Scope &scope, int64_t first_day, int64_t last_day,
                 int64_t first_hour_day, Series &out, std::string *error);

// État des remontées: what one establishment's deliveries look like (docs/console.md).
struct FeedStatus {
    Establishment establishment;
    bool received = false;  // any snapshot row at all
    // The snapshot received last (greatest received_unix, then sequence).
    uint64_t last_sequence = 0;
    int64_t last_received_unix = 0, last_created_unix = 0;
    std::string last_status;
    // Newest applied snapshot's created_unix (the figure pages' "données au"), 0 if none.
    int64_t fresh_unix = 0;
    // The end of the newest complete hour (largest hours_to of the applied snapshots' coverage
    // seen), 0 when no snapshot carried coverage.
    int64_t complete_until_unix = 0;
    // Holes [from, to) between the coverage of the snapshots received since `since_unix`, per
    // segment generation (a snapshot with `restart` starts a new chain), and their hours.
    std::vector<std::pair<int64_t, int64_t>> gaps;
    int64_t gap_hours = 0;
    bool coverage_seen = false;  // a snapshot since `since_unix` carried coverage
    // The clock skew (console - school): measured at an upload since `since_unix` (table
    // clock_skew, the uplink's Date header: `skew_measured`), or else min(received_unix -
    // created_unix) over the snapshots received since `since_unix` (older uplinks).
    bool skew_known = false, skew_measured = false;
    int64_t skew_seconds = 0, skew_measured_unix = 0;
    // Uploads refused (table upload_rejections) and files received but not applied
    // (unknown_schema, unreadable), all time: counts, the last one's time and reason.
    uint64_t refused_uploads = 0, unapplied_files = 0;
    int64_t last_rejection_unix = 0;
    std::string last_rejection;
};
bool load_feed_status(Reader &reader, const Scope &scope, int64_t since_unix,
                      std::vector<FeedStatus> &out, std::string *error);

// The local day and hour of an hour window starting at `hour_start`, from the local days of its
// establishment (day number -> start instant). A day's UTC offset is its number × 86400 minus its
// start; on a day whose offset changes (daylight saving) the change is taken at 02:00 local
// standard time in spring and 03:00 local summer time in autumn (the EU's 01:00 UTC). False
// when no day of `days` contains the hour.
bool local_hour(const std::map<int64_t, int64_t> &days, int64_t hour_start, int64_t &day,
                int &hour);

}  // namespace sonde::console::web
