#pragma once
// The shared-memory segment of one base, as every process serving the base and the operator
// tool see it. Modelled on Varnish's VSM/VSC: a fixed header, then sections at offsets the
// header records. All shared mutable state is std::atomic of lock-free sizes, so a process that
// dies at any instruction leaves nothing half-locked.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "catalog_layout.hpp"

namespace sonde::shm {

inline constexpr uint64_t kMagic = 0x4D485345444E4F53ULL;  // "SONDESHM" little-endian
inline constexpr uint32_t kByteOrderMark = 0x01020304u;
// 2: the header records the stated capacities of the tables (user_stated_capacity,
// student_stated_capacity) next to their slot counts.
// 3: segments are files in a persistent directory; the header ends with a mutable part (boot
// id of the last boot that attached, last flush) outside the checksum.
inline constexpr uint32_t kLayoutVersion = 3;
inline constexpr size_t kCacheLine = 64;

inline constexpr uint32_t kRowCount = 48;

// Capacities of the users and students tables. A *stated* capacity is the number of distinct
// people guaranteed to fit (since the segment was created: entries are never removed). A table
// of stated capacity C has table_slots(C) slots, the smallest power of two >= 2 C, so it is at
// most half full when C people are in it. At that load linear probing averages 1.5 probes to
// find a key and 2.5 to insert one, and the chance that an insertion needs more than
// kMaxProbes = 256 probes is of the order of (a e^(1-a))^256 ~ 4e-22 (a = 1/2, keys hashed with
// the secret): bounded probing does not refuse anyone before C (tests/unit/test_tables.cc fills
// tables to C under 100 random secrets and measures the longest probe).
//
// Defaults, sized for a large cité scolaire (collège + lycée, ~3,500 pupils; with parents and
// staff ~12,000 accounts) with room to spare, including last year's leavers, who keep their
// entries until the segment is next created: 24,576 users (2x) and 8,192 students (2.3x).
// An operator sizes a base with users_capacity / students_capacity in its configuration file.
inline constexpr uint32_t kDefaultUserCapacity = 24576;
inline constexpr uint32_t kDefaultStudentCapacity = 8192;
inline constexpr uint32_t kMinUserCapacity = 256, kMaxUserCapacity = 262144;
inline constexpr uint32_t kMinStudentCapacity = 256, kMaxStudentCapacity = 65536;
inline constexpr uint32_t kMaxProbes = 256;

// 0 if that does not fit in 32 bits (never for a valid capacity).
constexpr uint32_t table_slots(uint32_t stated_capacity) {
    uint64_t slots = 1;
    while (slots < 2 * uint64_t(stated_capacity)) slots <<= 1;
    return slots <= UINT32_MAX ? uint32_t(slots) : 0;
}
static_assert(table_slots(kDefaultUserCapacity) == 65536);
static_assert(table_slots(kDefaultStudentCapacity) == 16384);
static_assert(table_slots(kMaxUserCapacity) == (1u << 19));
static_assert(table_slots(kMinStudentCapacity) > kMaxProbes);

// The capacities a segment is created with (stated, not slots).
struct Capacities {
    uint32_t users = kDefaultUserCapacity;
    uint32_t students = kDefaultStudentCapacity;
};
constexpr bool valid_capacities(const Capacities &c) {
    return c.users >= kMinUserCapacity && c.users <= kMaxUserCapacity &&
           c.students >= kMinStudentCapacity && c.students <= kMaxStudentCapacity;
}
inline constexpr uint32_t kLabelBytes = 32;
// Latches (Envoy's pattern): the shipper copies the cumulative totals at each window start,
// so a window's figure is the difference of two latches. 8 days of hours survive an outage.
inline constexpr uint32_t kHourLatchSlots = 192;
inline constexpr uint32_t kDayLatchSlots = 9;
inline constexpr uint32_t kPeriodLatchSlots = 2;  // months and school years: open + closed
// Hourly latches hold per-measure totals with levels summed: the hour-by-hour view needs no
// level detail, and it keeps 8 days of hours small.
inline constexpr uint32_t kHourCells =
    catalog::kConnectionCells + catalog::kEventCount + catalog::kTallyCount;

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<int64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// Diagnostics shared by every process of the base. Append only.
enum class Diag : uint32_t {
    NullArgument,
    OutOfRange,
    BadStructSize,
    BadArgument,
    BadHandle,
    DisabledCalls,
    SharedRowWriters,
    RowsReclaimed,
    UsersTableFull,
    StudentsTableFull,
    ConfigErrors,
    ConfigReloads,
    SegmentsReplaced,
    SnapshotsWritten,
    SnapshotErrors,
    SpoolMerges,
    ForeignThreadCalls,
    SegmentReboots,         // attached after a reboot (boot id changed): every lease folded
    SegmentsRecovered,      // the file was deleted or truncated under live hosts and re-published
    EntriesReclaimed,       // table entries of closed windows taken back for new people
    SegmentsRefused,        // the path held something unusable that could not be set aside
    TimezoneDisagreements,  // Windows' own UTC offset now differed from the base's zone's
    Count_
};
inline constexpr uint32_t kDiagSlots = 32;
static_assert(uint32_t(Diag::Count_) <= kDiagSlots);

// Everything up to `ready` never changes across layout versions, so any version of the
// tool can tell what a segment is before trusting the rest.
struct Header {
    uint64_t magic;
    uint32_t byte_order;
    uint32_t layout_version;
    uint64_t schema_hash;
    uint64_t size;
    int32_t creator_pid;
    uint32_t header_size;
    int64_t creator_start_unix_ns;
    uint64_t generation;          // random identity of this incarnation of the segment
    std::atomic<uint32_t> ready;  // 1 once fully initialised; stored last, with release
    uint32_t header_checksum;     // FNV-1a of the immutable fields below `ready` and above

    // Layout version 1.
    char base_id[16];
    uint32_t product;
    uint32_t level_slots;
    uint32_t row_count;
    uint32_t cells_per_row;
    uint64_t row_stride;         // bytes, multiple of kCacheLine
    uint64_t leases_offset;      // Lease[row_count]
    uint64_t rows_offset;        // row_count rows of cells_per_row atomic<int64_t>
    uint64_t shared_row_offset;  // one row updated with fetch_add (fallback writers)
    uint64_t gauges_offset;      // atomic<uint64_t>[gauge_cells]: (set_time_u32 << 32) | value_i32
    uint32_t gauge_cells;
    // user_capacity and student_capacity are the numbers of SLOTS of the tables (powers of
    // two; every probe and scan uses them). The number of people guaranteed to fit is
    // user_stated_capacity / student_stated_capacity below (layout version 2).
    uint32_t user_capacity;
    uint64_t users_offset;  // UserEntry[user_capacity]
    uint32_t student_capacity;
    uint32_t tally_slots;
    uint64_t students_offset;       // StudentEntry[student_capacity]
    uint64_t diag_offset;           // atomic<uint64_t>[kDiagSlots]
    uint64_t levels_offset;         // LevelLabel[level_slots]
    uint64_t hour_latches_offset;   // kHourLatchSlots latches of kHourCells values
    uint64_t day_latches_offset;    // kDayLatchSlots latches of cells_per_row values
    uint64_t month_latches_offset;  // kPeriodLatchSlots latches of cells_per_row values
    uint64_t year_latches_offset;   // kPeriodLatchSlots latches of cells_per_row values
    uint64_t hour_latch_stride, full_latch_stride;

    // Layout version 2. The stated capacities the segment was created with:
    // user_capacity == table_slots(user_stated_capacity), and likewise for students.
    uint32_t user_stated_capacity;
    uint32_t student_stated_capacity;

    // Layout version 3. Mutable, outside the checksum (which ends at `boot_id`); read only by
    // the opening code, the watcher and the tools, never on the recording path.
    std::atomic<uint64_t> boot_id[2];   // /proc/sys/kernel/random/boot_id of the last boot
    std::atomic<uint64_t> boots;        // boots seen (1 at creation)
    std::atomic<int64_t> flushed_unix;  // last msync by the shipper (its clock), 0 = never
    std::atomic<uint64_t> flush_count;  // msyncs so far
};

// One latch: written only by the elected shipper (seqlock: seq is odd while it writes),
// read by anyone. A shipper that dies mid-write leaves seq odd; the next one rewrites it.
struct LatchHead {
    std::atomic<uint64_t> seq;
    std::atomic<int64_t> window;        // hour_index, day, month or school-year number; 0 = empty
    std::atomic<int64_t> window_start;  // unix seconds when the window began
    std::atomic<int64_t> taken;         // unix seconds when the totals were copied
};
enum class LatchKind : uint32_t { Hour, Day, Month, SchoolYear };

// A row lease: 0 = free, else (pid << 32) | (process start time in clock ticks, truncated).
// The start time tells a recycled pid from the owner that died.
struct alignas(8) Lease {
    std::atomic<uint64_t> owner;
};

// One hashed user. For each window (day, month, school year) two slots, used by the parity
// of the window's number, so the window that just closed stays readable next to the open one.
// A slot is (window_number << 48) | combination mask (bit = connection cell: profile x medium
// x access); one CAS replaces or extends it atomically.
enum Window : uint32_t { kDay = 0, kMonth = 1, kSchoolYear = 2, kWindows = 3 };
struct UserEntry {
    std::atomic<uint64_t> key;  // 0 = empty
    std::atomic<uint64_t> slot[kWindows][2];
};
static_assert(sizeof(UserEntry) == 56);
inline constexpr uint64_t kMaskBits = 48;
inline constexpr uint64_t kMaskMask = (uint64_t{1} << kMaskBits) - 1;
static_assert(catalog::kConnectionCells <= kMaskBits);

// One hashed student. Per school-year parity: the level (with the year) and one word per
// distribution tally: (year & 0xff) << 24 | count as a signed 24-bit number.
struct StudentEntry {
    std::atomic<uint64_t> key;
    std::atomic<uint32_t> level[2];  // (school_year << 16) | level
    std::atomic<uint32_t> tally[2][catalog::kTallySlots];
};
static_assert(sizeof(StudentEntry) == 8 + 8 + 8 * catalog::kTallySlots);

// Level labels: written word by word, then a checksum; a reader that sees a checksum
// mismatch knows a declaration is in progress and shows the level unlabelled.
struct LevelLabel {
    std::atomic<uint64_t> words[kLabelBytes / 8];
    std::atomic<uint64_t> checksum;  // 0 = not declared
};

// Where each section sits for given capacities; shared by the creator and the validators.
struct Geometry {
    uint64_t leases_offset, rows_offset, row_stride, shared_row_offset, gauges_offset, users_offset,
        students_offset, diag_offset, levels_offset, hour_latches_offset, day_latches_offset,
        month_latches_offset, year_latches_offset, hour_latch_stride, full_latch_stride, size;
};

constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

constexpr Geometry geometry(uint32_t rows, uint32_t users, uint32_t students) {
    Geometry g{};
    uint64_t at = align_up(sizeof(Header), kCacheLine);
    g.leases_offset = at;
    at = align_up(at + rows * sizeof(Lease), kCacheLine);
    g.row_stride = align_up(catalog::kCounterCells * sizeof(int64_t), kCacheLine);
    g.rows_offset = at;
    at += rows * g.row_stride;
    g.shared_row_offset = at;
    at += g.row_stride;
    g.gauges_offset = at;
    at = align_up(at + catalog::kGaugeCells * sizeof(uint64_t), kCacheLine);
    g.users_offset = at;
    at = align_up(at + uint64_t(users) * sizeof(UserEntry), kCacheLine);
    g.students_offset = at;
    at = align_up(at + uint64_t(students) * sizeof(StudentEntry), kCacheLine);
    g.diag_offset = at;
    at = align_up(at + kDiagSlots * sizeof(uint64_t), kCacheLine);
    g.levels_offset = at;
    at = align_up(at + catalog::kLevelSlots * sizeof(LevelLabel), kCacheLine);
    g.hour_latch_stride = align_up(sizeof(LatchHead) + kHourCells * sizeof(int64_t), kCacheLine);
    g.full_latch_stride =
        align_up(sizeof(LatchHead) + catalog::kCounterCells * sizeof(int64_t), kCacheLine);
    g.hour_latches_offset = at;
    at += kHourLatchSlots * g.hour_latch_stride;
    g.day_latches_offset = at;
    at += kDayLatchSlots * g.full_latch_stride;
    g.month_latches_offset = at;
    at += kPeriodLatchSlots * g.full_latch_stride;
    g.year_latches_offset = at;
    at += kPeriodLatchSlots * g.full_latch_stride;
    g.size = align_up(at, 4096);
    return g;
}

constexpr Geometry geometry_for(const Capacities &c) {
    return geometry(kRowCount, table_slots(c.users), table_slots(c.students));
}
inline constexpr Geometry kDefaultGeometry = geometry_for(Capacities{});
// Memory budget per base (docs/architecture.md). The tables dominate: 56 bytes per slot, two
// to four slots per stated place. Default capacities (24,576 users, 8,192 students): 4.9 MiB,
// within 6 MiB. The largest an operator can configure (262,144 users, 65,536 students):
// 35.5 MiB, within 40 MiB.
static_assert(kDefaultGeometry.size <= 6u * 1024 * 1024);
static_assert(geometry_for({kMaxUserCapacity, kMaxStudentCapacity}).size <= 40u * 1024 * 1024);

uint32_t header_checksum(const Header &h) noexcept;

// Packing helpers shared by writers and readers.
inline constexpr uint64_t user_slot(uint64_t window_number, uint64_t mask) {
    return (window_number << kMaskBits) | (mask & kMaskMask);
}
inline constexpr uint32_t tally_word(uint32_t year, int32_t count) {
    return ((year & 0xffu) << 24) | (uint32_t(count) & 0xffffffu);
}
inline constexpr int32_t tally_count(uint32_t word) {
    return int32_t(word << 8) >> 8;  // sign-extend 24 bits
}
// Never 0, so 0 can mean "not declared".
inline constexpr uint64_t label_checksum(const uint64_t (&words)[kLabelBytes / 8]) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (uint64_t w : words) h = (h ^ w) * 0x100000001b3ULL;
    return h | 1;
}
inline constexpr bool tally_is_year(uint32_t word, uint32_t year) {
    return (word >> 24) == (year & 0xffu);
}

}  // namespace sonde::shm
