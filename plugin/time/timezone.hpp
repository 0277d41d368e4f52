// Time zones read from TZif files (RFC 8536), evaluated without libc's global TZ state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::time {

namespace detail {

// Instants are clamped to +-2^52 s (about +-142 million years) so that every computation on them
// stays far away from int64 overflow, whatever a caller passes in.
inline constexpr int64_t kMaxInstant = int64_t{1} << 52;

constexpr int64_t clamp_instant(int64_t t) noexcept {
    return t < -kMaxInstant ? -kMaxInstant : (t > kMaxInstant ? kMaxInstant : t);
}

// Division rounding toward minus infinity (instants before 1970 are negative).
constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
    const int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

constexpr int64_t floor_mod(int64_t a, int64_t b) noexcept { return a - floor_div(a, b) * b; }

// One DST rule date of a POSIX TZ string: "Jn", "n" or "Mm.w.d", plus "/time".
struct PosixRuleDate {
    enum class Kind : uint8_t { kJulian1, kJulian0, kMonthWeekDay };
    Kind kind = Kind::kMonthWeekDay;
    uint16_t day = 0;     // Jn: 1..365 (Feb 29 never counted), n: 0..365
    uint8_t month = 0;    // Mm.w.d: 1..12
    uint8_t week = 0;     // 1..5, 5 = last
    uint8_t weekday = 0;  // 0 = Sunday
    int32_t time = 7200;  // local seconds after midnight, -167h..167h (RFC 8536)
};

// A parsed POSIX TZ string (the TZif footer). Offsets are seconds EAST of UTC.
struct PosixTz {
    int32_t std_offset = 0;
    int32_t dst_offset = 0;
    bool has_dst = false;
    PosixRuleDate dst_start;  // expressed in standard local time
    PosixRuleDate dst_end;    // expressed in daylight local time
};

}  // namespace detail

// The zone source that means "the TZif files compiled into the plugin" (time/embedded_zones.hpp).
inline constexpr const char *kEmbeddedZoneinfo = ":embedded";
// Where zones are read by default: $SONDE_ZONEINFO_DIR if set (a tzdata folder, or
// kEmbeddedZoneinfo), else the build's default: /usr/share/zoneinfo on Linux, the embedded
// zones on Windows (docs/windows.md).
std::string default_zoneinfo_dir();
// The tzdata version of the embedded zones ("2025b"); whether they are the default source.
const char *embedded_tzdata_version() noexcept;
bool zoneinfo_default_is_embedded() noexcept;

class TimeZone {
  public:
    // Loads <zoneinfo_dir>/<name> (TZif v1..v4), or the embedded zone <name> when zoneinfo_dir
    // is kEmbeddedZoneinfo. Returns std::nullopt and fills *error (if not
    // null) for unknown names, names with "..", absolute paths, truncated or malformed files and
    // leap-second ("right/") zones.
    static std::optional<TimeZone> load(std::string_view name, std::string *error,
                                        const std::string &zoneinfo_dir = default_zoneinfo_dir());
    static TimeZone utc();

    const std::string &name() const noexcept { return name_; }

    // Seconds east of UTC in force at this instant. No allocation (binary search).
    int32_t utc_offset(int64_t unix_seconds) const noexcept;

    // Latest instant <= t / earliest instant > t at which the UTC offset changes (the new offset
    // applies from that instant on). Changes of abbreviation or isdst alone are not reported.
    std::optional<int64_t> offset_change_at_or_before(int64_t unix_seconds) const noexcept;
    std::optional<int64_t> offset_change_after(int64_t unix_seconds) const noexcept;

  private:
    TimeZone() = default;

    int32_t footer_offset(int64_t t) const noexcept;
    bool is_change(int64_t t) const noexcept;
    std::optional<int64_t> footer_change_at_or_before(int64_t t) const noexcept;
    std::optional<int64_t> footer_change_after(int64_t t) const noexcept;

    std::string name_;
    // Only the transitions that change the offset, ascending; offsets_[i] applies from times_[i].
    std::vector<int64_t> times_;
    std::vector<int32_t> offsets_;
    int32_t initial_offset_ = 0;  // before the first transition: time type 0 (RFC 8536)
    bool has_footer_ = false;
    int64_t footer_from_ = INT64_MIN;  // the footer rule governs instants >= this (last transition)
    detail::PosixTz footer_;
};

}  // namespace sonde::time
