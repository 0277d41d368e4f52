// TZif reader (RFC 8536) and POSIX TZ footer evaluation. Everything after load() is
// allocation-free: lookups are binary searches or a few calendar computations.
#include "time/timezone.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "platform/read_file.hpp"
#include "time/calendar.hpp"
#include "time/embedded_zones.hpp"

namespace sonde::time {

namespace {

using detail::floor_div;
using detail::floor_mod;
using detail::PosixRuleDate;
using detail::PosixTz;

constexpr size_t kMaxNameLength = 255;
constexpr uint64_t kMaxFileSize = 4 << 20;  // real TZif files are a few KiB
constexpr int32_t kMinUtcOffset = -89999;   // RFC 8536 range: -24:59:59 .. +25:59:59
constexpr int32_t kMaxUtcOffset = 93599;
constexpr int64_t kSecondsPerDay = 86400;

void set_error(std::string *error, std::string message) {
    if (error != nullptr) *error = std::move(message);
}

// ---------------------------------------------------------------------------------------------
// Zone names

bool is_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '+' || c == '.';
}

// Only relative names made of plain components may reach the file system.
bool check_zone_name(std::string_view name, std::string *why) {
    if (name.empty()) {
        *why = "the name is empty";
        return false;
    }
    if (name.size() > kMaxNameLength) {
        *why = "the name is too long";
        return false;
    }
    if (name.front() == '/') {
        *why = "absolute paths are not allowed";
        return false;
    }
    size_t begin = 0;
    while (begin <= name.size()) {
        size_t end = name.find('/', begin);
        if (end == std::string_view::npos) end = name.size();
        const std::string_view part = name.substr(begin, end - begin);
        if (part.empty() || part == "." || part == "..") {
            *why = "empty, '.' or '..' path components are not allowed";
            return false;
        }
        if (!std::all_of(part.begin(), part.end(), is_name_char)) {
            *why = "only letters, digits and '_', '-', '+', '.', '/' are allowed";
            return false;
        }
        begin = end + 1;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// File access

std::string errno_text(int err) { return std::generic_category().message(err); }

// Binary mode everywhere (platform::read_file): TZif is binary (issue 10, trap 3). Links are
// followed: zoneinfo holds zones as links to others.
bool read_whole_file(const std::string &path, std::vector<unsigned char> &out, std::string *why,
                     bool *not_found) {
    *not_found = false;
    platform::ReadOptions options;
    options.follow_links = true;
    const platform::ReadResult r = platform::read_file(path, kMaxFileSize, out, options);
    switch (r.error) {
        case platform::ReadError::None:
            return true;
        case platform::ReadError::Missing:
        case platform::ReadError::Open:
            *not_found = r.error == platform::ReadError::Missing || r.err == ENOTDIR;
            *why = "cannot open " + path + ": " + errno_text(r.err);
            return false;
        case platform::ReadError::Stat:
            *why = "cannot stat " + path + ": " + errno_text(r.err);
            return false;
        case platform::ReadError::Directory:
        case platform::ReadError::NotRegular:
            *not_found = true;  // e.g. "America": a directory of zones, not a zone
            *why = path + " is not a regular file";
            return false;
        case platform::ReadError::TooLarge:
            *why = path + " is too large to be a TZif file";
            return false;
        case platform::ReadError::Read:
            *why = "cannot read " + path + ": " + errno_text(r.err);
            return false;
        case platform::ReadError::NoMemory:
            break;
    }
    *why = "out of memory reading " + path;
    return false;
}

// ---------------------------------------------------------------------------------------------
// POSIX TZ strings (TZif footer), e.g. "CET-1CEST,M3.5.0,M10.5.0/3" or "<+04>-4".

class PosixParser {
  public:
    explicit PosixParser(std::string_view text) : s_(text) {}

    bool parse(PosixTz &out) {
        int32_t west = 0;
        if (!name() || !hms(24, west)) return false;
        out.std_offset = -west;  // POSIX offsets count west of Greenwich
        out.has_dst = false;
        if (at_end()) return true;
        if (!name()) return false;
        out.has_dst = true;
        out.dst_offset = out.std_offset + 3600;
        if (!at_end() && peek() != ',') {
            if (!hms(24, west)) return false;
            out.dst_offset = -west;
        }
        // TZif footers always spell the rules out; there is no sane implicit default.
        if (!accept(',') || !rule(out.dst_start) || !accept(',') || !rule(out.dst_end)) {
            return false;
        }
        return at_end();
    }

  private:
    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    bool accept(char c) {
        if (at_end() || s_[pos_] != c) return false;
        ++pos_;
        return true;
    }
    static bool is_digit(char c) { return c >= '0' && c <= '9'; }
    static bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

    // Unsigned decimal with 1..max_digits digits and a value <= max_value.
    bool number(int max_digits, int max_value, int &out) {
        int value = 0;
        int digits = 0;
        while (digits < max_digits && is_digit(peek())) {
            value = value * 10 + (s_[pos_++] - '0');
            ++digits;
        }
        if (digits == 0 || value > max_value) return false;
        out = value;
        return true;
    }

    // "CET" (letters only) or "<+0530>" (letters, digits, signs); at least 3 characters.
    bool name() {
        size_t length = 0;
        if (accept('<')) {
            while (!at_end() &&
                   (is_alpha(peek()) || is_digit(peek()) || peek() == '+' || peek() == '-')) {
                ++pos_;
                ++length;
            }
            return accept('>') && length >= 3;
        }
        while (is_alpha(peek())) {
            ++pos_;
            ++length;
        }
        return length >= 3;
    }

    // [+-]hh[:mm[:ss]] in seconds; hours up to max_hours (24 for offsets, 167 for rule times).
    bool hms(int max_hours, int32_t &out) {
        const bool negative = accept('-');
        if (!negative) accept('+');
        int h = 0;
        int m = 0;
        int sec = 0;
        if (!number(3, max_hours, h)) return false;
        if (accept(':')) {
            if (!number(2, 59, m)) return false;
            if (accept(':') && !number(2, 59, sec)) return false;
        }
        const int32_t total = h * 3600 + m * 60 + sec;
        out = negative ? -total : total;
        return true;
    }

    // "Jn" | "n" | "Mm.w.d", then optional "/time" (default 02:00).
    bool rule(PosixRuleDate &out) {
        int value = 0;
        if (accept('J')) {
            if (!number(3, 365, value) || value < 1) return false;
            out.kind = PosixRuleDate::Kind::kJulian1;
            out.day = static_cast<uint16_t>(value);
        } else if (accept('M')) {
            int month = 0;
            int week = 0;
            int weekday = 0;
            if (!number(2, 12, month) || month < 1 || !accept('.') || !number(1, 5, week) ||
                week < 1 || !accept('.') || !number(1, 6, weekday)) {
                return false;
            }
            out.kind = PosixRuleDate::Kind::kMonthWeekDay;
            out.month = static_cast<uint8_t>(month);
            out.week = static_cast<uint8_t>(week);
            out.weekday = static_cast<uint8_t>(weekday);
        } else {
            if (!number(3, 365, value)) return false;
            out.kind = PosixRuleDate::Kind::kJulian0;
            out.day = static_cast<uint16_t>(value);
        }
        out.time = 7200;
        if (accept('/') && !hms(167, out.time)) return false;
        return true;
    }

    std::string_view s_;
    size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// POSIX rule evaluation

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int64_t year_of_local(int64_t local_seconds) {
    int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(floor_div(local_seconds, kSecondsPerDay), y, m, d);
    return y;
}

// Day number (days since 1970-01-01) on which a rule date falls in `year`.
int64_t rule_day(int64_t year, const PosixRuleDate &r) {
    const int64_t jan1 = days_from_civil(year, 1, 1);
    switch (r.kind) {
        case PosixRuleDate::Kind::kJulian1:  // Feb 29 is never counted: J60 is always March 1
            return jan1 + r.day - 1 + ((is_leap(year) && r.day >= 60) ? 1 : 0);
        case PosixRuleDate::Kind::kJulian0:
            return jan1 + r.day;
        case PosixRuleDate::Kind::kMonthWeekDay:
            break;
    }
    const int64_t first = days_from_civil(year, r.month, 1);
    const int64_t next_month =
        r.month == 12 ? days_from_civil(year + 1, 1, 1) : days_from_civil(year, r.month + 1u, 1);
    const int64_t first_weekday = floor_mod(first + 4, 7);  // 1970-01-01 was a Thursday
    int64_t day = first + floor_mod(r.weekday - first_weekday, 7) + (r.week - 1) * 7;
    while (day >= next_month) day -= 7;  // week 5 means "last"
    return day;
}

struct RuleTransition {
    int64_t at;  // unix seconds
    bool to_dst;
};

// The rule's two transitions of `year`, in rule order. The start time is written in standard
// time and the end time in daylight time, hence the different offsets.
void rule_transitions(const PosixTz &tz, int64_t year, RuleTransition out[2]) {
    out[0] = {rule_day(year, tz.dst_start) * kSecondsPerDay + tz.dst_start.time - tz.std_offset,
              true};
    out[1] = {rule_day(year, tz.dst_end) * kSecondsPerDay + tz.dst_end.time - tz.dst_offset, false};
}

// Offset in force at t: the state set by the latest rule transition <= t. Looking at the
// neighbouring years too covers southern-hemisphere rules, times beyond 24h and "DST all year"
// rules (ties go to the later transition in rule order, i.e. the next year's start).
int32_t evaluate_rule(const PosixTz &tz, int64_t t) {
    if (!tz.has_dst) return tz.std_offset;
    const int64_t year = year_of_local(t + tz.std_offset);
    int64_t best = INT64_MIN;
    bool dst = false;
    for (int64_t y = year - 2; y <= year + 1; ++y) {
        RuleTransition tr[2];
        rule_transitions(tz, y, tr);
        for (const RuleTransition &candidate : tr) {
            if (candidate.at <= t && candidate.at >= best) {
                best = candidate.at;
                dst = candidate.to_dst;
            }
        }
    }
    return dst ? tz.dst_offset : tz.std_offset;
}

// ---------------------------------------------------------------------------------------------
// TZif parsing

class ByteReader {
  public:
    ByteReader(const unsigned char *data, size_t size) : data_(data), size_(size) {}
    uint64_t remaining() const { return size_ - pos_; }
    // Returns the next n bytes, or nullptr if the input is shorter.
    const unsigned char *take(uint64_t n) {
        if (n > remaining()) return nullptr;
        const unsigned char *p = data_ + pos_;
        pos_ += static_cast<size_t>(n);
        return p;
    }

  private:
    const unsigned char *data_;
    size_t size_;
    size_t pos_ = 0;
};

uint32_t be32(const unsigned char *p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint64_t be64(const unsigned char *p) { return (uint64_t{be32(p)} << 32) | be32(p + 4); }

struct TzifHeader {
    unsigned char version = 0;
    uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

struct TzifData {
    std::vector<int64_t> times;
    std::vector<uint8_t> types;      // type index per transition
    std::vector<int32_t> utoffsets;  // per time type
    std::string footer;
};

bool read_header(ByteReader &in, TzifHeader &h, std::string *why) {
    const unsigned char *p = in.take(44);
    if (p == nullptr) {
        *why = "truncated TZif header";
        return false;
    }
    if (p[0] != 'T' || p[1] != 'Z' || p[2] != 'i' || p[3] != 'f') {
        *why = "not a TZif file (bad magic)";
        return false;
    }
    h.version = p[4];
    if (h.version != 0 && (h.version < '2' || h.version > '9')) {
        *why = "unsupported TZif version byte";
        return false;
    }
    h.isutcnt = be32(p + 20);
    h.isstdcnt = be32(p + 24);
    h.leapcnt = be32(p + 28);
    h.timecnt = be32(p + 32);
    h.typecnt = be32(p + 36);
    h.charcnt = be32(p + 40);
    return true;
}

uint64_t block_size(const TzifHeader &h, uint64_t time_size) {
    return uint64_t{h.timecnt} * time_size + h.timecnt + uint64_t{h.typecnt} * 6 + h.charcnt +
           uint64_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

bool check_counts(const TzifHeader &h, std::string *why) {
    if (h.typecnt == 0 || h.charcnt == 0) {
        *why = "TZif data without time types or designations";
    } else if ((h.isutcnt != 0 && h.isutcnt != h.typecnt) ||
               (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
        *why = "inconsistent TZif counts";
    } else if (h.leapcnt != 0) {
        // Leap-second ("right/") zones count TAI-like seconds; our inputs are POSIX seconds.
        *why = "leap-second time zones are not supported";
    } else {
        return true;
    }
    return false;
}

bool read_transitions(ByteReader &in, const TzifHeader &h, uint64_t time_size, TzifData &out,
                      std::string *why) {
    const unsigned char *times = in.take(uint64_t{h.timecnt} * time_size);
    const unsigned char *indices = in.take(h.timecnt);
    out.times.resize(h.timecnt);
    out.types.resize(h.timecnt);
    for (uint32_t i = 0; i < h.timecnt; ++i) {
        const unsigned char *p = times + uint64_t{i} * time_size;
        out.times[i] =
            time_size == 8 ? static_cast<int64_t>(be64(p)) : int64_t{static_cast<int32_t>(be32(p))};
        if (i > 0 && out.times[i] <= out.times[i - 1]) {
            *why = "TZif transition times are not strictly ascending";
            return false;
        }
        if (indices[i] >= h.typecnt) {
            *why = "TZif transition refers to a missing time type";
            return false;
        }
        out.types[i] = indices[i];
    }
    return true;
}

bool read_types(ByteReader &in, const TzifHeader &h, TzifData &out, std::string *why) {
    const unsigned char *p = in.take(uint64_t{h.typecnt} * 6);
    out.utoffsets.resize(h.typecnt);
    for (uint32_t i = 0; i < h.typecnt; ++i, p += 6) {
        const int32_t utoff = static_cast<int32_t>(be32(p));
        if (utoff < kMinUtcOffset || utoff > kMaxUtcOffset || p[4] > 1 || p[5] >= h.charcnt) {
            *why = "TZif time type out of range";
            return false;
        }
        out.utoffsets[i] = utoff;
    }
    return true;
}

// Reads one data block; the caller has checked that the whole block is present.
bool read_block(ByteReader &in, const TzifHeader &h, uint64_t time_size, TzifData &out,
                std::string *why) {
    if (!read_transitions(in, h, time_size, out, why) || !read_types(in, h, out, why)) {
        return false;
    }
    in.take(h.charcnt);  // designations: names are not needed
    const unsigned char *rest = in.take(uint64_t{h.isstdcnt} + h.isutcnt);  // leapcnt is 0
    for (uint64_t i = 0; i < uint64_t{h.isstdcnt} + h.isutcnt; ++i) {
        if (rest[i] > 1) {
            *why = "TZif standard/UT indicator out of range";
            return false;
        }
    }
    return true;
}

bool read_checked_block(ByteReader &in, const TzifHeader &h, uint64_t time_size, TzifData &out,
                        std::string *why) {
    if (!check_counts(h, why)) return false;
    if (in.remaining() < block_size(h, time_size)) {
        *why = "truncated TZif data block";
        return false;
    }
    return read_block(in, h, time_size, out, why);
}

// The v2+ footer: "\n" <POSIX TZ string> "\n".
bool read_footer(ByteReader &in, std::string &footer, std::string *why) {
    const unsigned char *open = in.take(1);
    if (open == nullptr || *open != '\n') {
        *why = "missing TZif footer";
        return false;
    }
    footer.clear();
    for (;;) {
        const unsigned char *c = in.take(1);
        if (c == nullptr) {
            *why = "truncated TZif footer";
            return false;
        }
        if (*c == '\n') return true;
        footer.push_back(static_cast<char>(*c));
    }
}

bool parse_tzif(const std::vector<unsigned char> &bytes, TzifData &out, std::string *why) {
    ByteReader in(bytes.data(), bytes.size());
    TzifHeader h;
    if (!read_header(in, h, why)) return false;
    if (h.version == 0) return read_checked_block(in, h, 4, out, why);

    // Version 2+: skip the 32-bit block, use the 64-bit one and its footer.
    if (in.take(block_size(h, 4)) == nullptr) {
        *why = "truncated TZif version 1 data block";
        return false;
    }
    TzifHeader h2;
    if (!read_header(in, h2, why)) return false;
    if (h2.version < '2') {
        *why = "second TZif header has a version below 2";
        return false;
    }
    return read_checked_block(in, h2, 8, out, why) && read_footer(in, out.footer, why);
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// TimeZone

std::string default_zoneinfo_dir() {
    if (const char *dir = std::getenv("SONDE_ZONEINFO_DIR"); dir && *dir) return dir;
    return SONDE_ZONEINFO_DEFAULT;
}

const char *embedded_tzdata_version() noexcept { return embedded::kTzdataVersion; }

bool zoneinfo_default_is_embedded() noexcept {
    const char *dir = std::getenv("SONDE_ZONEINFO_DIR");
    return std::string_view(dir && *dir ? dir : SONDE_ZONEINFO_DEFAULT) == kEmbeddedZoneinfo;
}

std::optional<TimeZone> TimeZone::load(std::string_view name, std::string *error,
                                       const std::string &zoneinfo_dir) {
    const std::string quoted = "time zone '" + std::string(name) + "'";
    std::string why;
    if (!check_zone_name(name, &why)) {
        set_error(error, "invalid " + quoted + ": " + why);
        return std::nullopt;
    }
    std::vector<unsigned char> bytes;
    bool not_found = false;
    const bool from_embedded = zoneinfo_dir == kEmbeddedZoneinfo;
    const std::string path = from_embedded ? "embedded zone " + std::string(name)
                                           : zoneinfo_dir + "/" + std::string(name);
    if (from_embedded && !embedded::find(name, bytes)) {
        not_found = true;
        why = "not among the zones embedded in this build (tzdata " +
              std::string(embedded::kTzdataVersion) +
              "); SONDE_ZONEINFO_DIR may name a tzdata folder";
    }
    if (from_embedded ? bytes.empty() : !read_whole_file(path, bytes, &why, &not_found)) {
        set_error(error, not_found ? "unknown " + quoted + " (" + why + ")" : quoted + ": " + why);
        return std::nullopt;
    }
    TzifData data;
    PosixTz footer;
    if (!parse_tzif(bytes, data, &why)) {
        set_error(error, quoted + ": " + path + ": " + why);
        return std::nullopt;
    }
    if (!data.footer.empty() && !PosixParser(data.footer).parse(footer)) {
        set_error(error,
                  quoted + ": " + path + ": malformed POSIX TZ footer \"" + data.footer + "\"");
        return std::nullopt;
    }

    TimeZone tz;
    tz.name_ = std::string(name);
    tz.initial_offset_ = data.utoffsets[0];
    int32_t current = tz.initial_offset_;
    for (size_t i = 0; i < data.times.size(); ++i) {
        const int32_t offset = data.utoffsets[data.types[i]];
        if (offset == current) continue;  // abbreviation/isdst-only change
        tz.times_.push_back(data.times[i]);
        tz.offsets_.push_back(offset);
        current = offset;
    }
    tz.has_footer_ = !data.footer.empty();
    tz.footer_ = footer;
    tz.footer_from_ = data.times.empty() ? INT64_MIN : data.times.back();
    return tz;
}

TimeZone TimeZone::utc() {
    TimeZone tz;
    tz.name_ = "UTC";
    return tz;
}

int32_t TimeZone::footer_offset(int64_t t) const noexcept {
    return evaluate_rule(footer_, detail::clamp_instant(t));
}

int32_t TimeZone::utc_offset(int64_t unix_seconds) const noexcept {
    if (has_footer_ && unix_seconds >= footer_from_) return footer_offset(unix_seconds);
    const auto it = std::upper_bound(times_.begin(), times_.end(), unix_seconds);
    if (it == times_.begin()) return initial_offset_;
    return offsets_[static_cast<size_t>(it - times_.begin()) - 1];
}

bool TimeZone::is_change(int64_t t) const noexcept {
    return t != INT64_MIN && utc_offset(t) != utc_offset(t - 1);
}

std::optional<int64_t> TimeZone::footer_change_at_or_before(int64_t t) const noexcept {
    if (!footer_.has_dst) return std::nullopt;
    const int64_t year = year_of_local(t + footer_.std_offset);
    std::optional<int64_t> best;
    for (int64_t y = year - 2; y <= year + 1; ++y) {
        RuleTransition tr[2];
        rule_transitions(footer_, y, tr);
        for (const RuleTransition &c : tr) {
            if (c.at <= t && (!best || c.at > *best) && is_change(c.at)) best = c.at;
        }
    }
    return best;
}

std::optional<int64_t> TimeZone::footer_change_after(int64_t t) const noexcept {
    if (!footer_.has_dst) return std::nullopt;
    const int64_t year = year_of_local(t + footer_.std_offset);
    std::optional<int64_t> best;
    for (int64_t y = year - 1; y <= year + 2; ++y) {
        RuleTransition tr[2];
        rule_transitions(footer_, y, tr);
        for (const RuleTransition &c : tr) {
            if (c.at > t && (!best || c.at < *best) && is_change(c.at)) best = c.at;
        }
    }
    return best;
}

std::optional<int64_t> TimeZone::offset_change_at_or_before(int64_t unix_seconds) const noexcept {
    int64_t t = detail::clamp_instant(unix_seconds);
    if (has_footer_ && t >= footer_from_) {
        // Rule transitions strictly after footer_from_ compare two footer offsets; the hand-over
        // instant itself compares the table with the rule.
        const std::optional<int64_t> rule_change = footer_change_at_or_before(t);
        if (rule_change && *rule_change > footer_from_) return rule_change;
        if (is_change(footer_from_)) return footer_from_;
        if (footer_from_ == INT64_MIN) return std::nullopt;
        t = footer_from_ - 1;
    }
    // Every stored transition below footer_from_ is a real change (deduplicated at load).
    const auto it = std::upper_bound(times_.begin(), times_.end(), t);
    if (it == times_.begin()) return std::nullopt;
    return *(it - 1);
}

std::optional<int64_t> TimeZone::offset_change_after(int64_t unix_seconds) const noexcept {
    int64_t t = detail::clamp_instant(unix_seconds);
    if (!has_footer_ || t < footer_from_) {
        const auto it = std::upper_bound(times_.begin(), times_.end(), t);
        if (it != times_.end() && (!has_footer_ || *it < footer_from_)) return *it;
        if (!has_footer_) return std::nullopt;
        if (is_change(footer_from_)) return footer_from_;
        t = footer_from_;
    }
    return footer_change_after(t);
}

}  // namespace sonde::time
