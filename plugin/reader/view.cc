#include "reader/view.hpp"

#include <cstring>

#include "core/tables.hpp"

namespace sonde::reader {

std::optional<SegmentView> SegmentView::open(const std::string &path, std::string *error,
                                             shm::Access access) {
    shm::OpenResult r = shm::attach_segment(path, access);
    if (!r.mapping.valid()) {
        if (error) *error = r.error;
        return std::nullopt;
    }
    return SegmentView(std::move(r.mapping));
}

// Sums wrap like the writers' additions (two's complement), never overflow into UB: a
// hostile segment or absurd deltas cannot make the reader misbehave.
static int64_t wrapping_add(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }

int64_t SegmentView::cell(uint32_t index) const {
    int64_t sum = mapping_.shared_row()[index].load(std::memory_order_relaxed);
    for (uint32_t r = 0; r < mapping_.layout().row_count; ++r)
        sum = wrapping_add(sum, mapping_.row(r)[index].load(std::memory_order_relaxed));
    return sum;
}

std::vector<int64_t> SegmentView::cells() const {
    std::vector<int64_t> out(catalog::kCounterCells, 0);
    for (uint32_t r = 0; r <= mapping_.layout().row_count; ++r) {
        const std::atomic<int64_t> *row =
            r == mapping_.layout().row_count ? mapping_.shared_row() : mapping_.row(r);
        for (uint32_t i = 0; i < catalog::kCounterCells; ++i)
            out[i] = wrapping_add(out[i], row[i].load(std::memory_order_relaxed));
    }
    return out;
}

namespace {
int64_t span_total(const SegmentView &v, uint32_t first, bool per_level, int level) {
    if (!per_level) return v.cell(first);
    if (level >= 0) return v.cell(first + uint32_t(level));
    int64_t sum = 0;
    for (uint32_t l = 0; l < catalog::kLevelSlots; ++l)
        sum = int64_t(uint64_t(sum) + uint64_t(v.cell(first + l)));
    return sum;
}
}  // namespace

int64_t SegmentView::event(uint32_t ev, int level) const {
    if (ev < 1 || ev > catalog::kEventCount) return 0;
    return span_total(*this, catalog::kEvents[ev].first, catalog::kEvents[ev].per_level, level);
}

int64_t SegmentView::tally_counter(uint32_t t, int level) const {
    if (t < 1 || t > catalog::kTallyCount) return 0;
    return span_total(*this, catalog::kTallies[t].first, catalog::kTallies[t].per_level, level);
}

int64_t SegmentView::connections(uint32_t profile, uint32_t medium, uint32_t access) const {
    return cell(catalog::connection_cell(profile, medium, access));
}

GaugeValue SegmentView::gauge(uint32_t g, uint32_t level) const {
    if (g < 1 || g > catalog::kGaugeCount || level >= catalog::kLevelSlots) return {};
    const catalog::CellSpan &span = catalog::kGauges[g];
    const uint64_t word = mapping_.gauges()[span.first + (span.per_level ? level : 0)].load(
        std::memory_order_relaxed);
    if (word == 0) return {};
    return {true, int32_t(uint32_t(word)), uint32_t(word >> 32)};
}

uint64_t connection_mask(uint32_t profile, uint32_t medium, uint32_t access) {
    uint64_t mask = 0;
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
        for (uint32_t m = 1; m <= catalog::kMedia; ++m)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                if ((!profile || p == profile) && (!medium || m == medium) &&
                    (!access || a == access))
                    mask |= uint64_t{1} << catalog::connection_cell(p, m, a);
    return mask;
}

uint64_t SegmentView::distinct(shm::Window w, uint32_t number, uint64_t mask) const {
    const shm::UserEntry *users = mapping_.users();
    uint64_t n = 0;
    for (uint32_t i = 0; i < mapping_.layout().user_slots; ++i) {
        if (!tables::live_key(users[i].key.load(std::memory_order_relaxed))) continue;
        const uint64_t slot = users[i].slot[w][number & 1].load(std::memory_order_relaxed);
        if ((slot >> shm::kMaskBits) == number && (slot & mask)) ++n;
    }
    return n;
}

std::array<uint64_t, catalog::kConnectionCells> SegmentView::distinct_per_cell(
    shm::Window w, uint32_t number) const {
    std::array<uint64_t, catalog::kConnectionCells> out{};
    const shm::UserEntry *users = mapping_.users();
    for (uint32_t i = 0; i < mapping_.layout().user_slots; ++i) {
        if (!tables::live_key(users[i].key.load(std::memory_order_relaxed))) continue;
        const uint64_t slot = users[i].slot[w][number & 1].load(std::memory_order_relaxed);
        if ((slot >> shm::kMaskBits) != number) continue;
        for (uint32_t c = 0; c < catalog::kConnectionCells; ++c) out[c] += (slot >> c) & 1;
    }
    return out;
}

std::vector<std::pair<uint64_t, uint64_t>> SegmentView::mask_histogram(shm::Window w,
                                                                       uint32_t number) const {
    // Few distinct masks (users use one to three combinations): a small open-addressing table
    // grouped in one pass over the users, cheaper than a node-based map.
    constexpr uint32_t kSlots = 4096;
    std::vector<std::pair<uint64_t, uint64_t>> table(kSlots, {0, 0});
    std::vector<std::pair<uint64_t, uint64_t>> overflow;
    const shm::UserEntry *users = mapping_.users();
    for (uint32_t i = 0; i < mapping_.layout().user_slots; ++i) {
        if (!tables::live_key(users[i].key.load(std::memory_order_relaxed))) continue;
        const uint64_t slot = users[i].slot[w][number & 1].load(std::memory_order_relaxed);
        const uint64_t mask = slot & shm::kMaskMask;
        if ((slot >> shm::kMaskBits) != number || !mask) continue;
        uint32_t h = uint32_t((mask * 0x9E3779B97F4A7C15ULL) >> 52) & (kSlots - 1);
        for (uint32_t probe = 0;; ++probe, h = (h + 1) & (kSlots - 1)) {
            if (probe ==
                kSlots) {  // more distinct masks than slots: cannot happen with 36 bits in use
                overflow.push_back({mask, 1});
                break;
            }
            if (table[h].first == mask || table[h].first == 0) {
                table[h].first = mask;
                ++table[h].second;
                break;
            }
        }
    }
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (const auto &entry : table)
        if (entry.first) out.push_back(entry);
    out.insert(out.end(), overflow.begin(), overflow.end());
    return out;
}

Distribution SegmentView::distribution(uint32_t t, uint32_t year) const {
    Distribution d;
    if (t < 1 || t > catalog::kTallyCount || catalog::kTallies[t].slot < 0) return d;
    const catalog::TallyInfo &info = catalog::kTallies[t];
    d.bin_count = info.bin_count;
    for (uint32_t b = 0; b < info.bin_count; ++b) d.bin_low[b] = info.bin_low[b];
    d.per_level.assign(catalog::kLevelSlots, {});
    const shm::StudentEntry *students = mapping_.students();
    for (uint32_t i = 0; i < mapping_.layout().student_slots; ++i) {
        if (!tables::live_key(students[i].key.load(std::memory_order_relaxed))) continue;
        const uint32_t lw = students[i].level[year & 1].load(std::memory_order_relaxed);
        if ((lw >> 16) != year) continue;  // no event at all this school year
        const uint32_t level = (lw & 0xffff) < catalog::kLevelSlots ? (lw & 0xffff) : 0;
        const uint32_t word =
            students[i].tally[year & 1][info.slot].load(std::memory_order_relaxed);
        const int64_t count = shm::tally_is_year(word, year) ? shm::tally_count(word) : 0;
        if (count <= 0) continue;  // in bin 0, which comes from enrolment below
        uint32_t bin = 0;
        while (bin + 1 < info.bin_count && uint64_t(count) >= info.bin_low[bin + 1]) ++bin;
        ++d.per_level[level][bin];
    }
    const uint32_t enrolled_gauge = SONDE_GAUGE_STUDENTS_ENROLLED;
    for (uint32_t l = 0; l < catalog::kLevelSlots; ++l) {
        uint64_t with_events = 0;
        for (uint32_t b = 1; b < d.bin_count; ++b) with_events += d.per_level[l][b];
        const GaugeValue enrolled = gauge(enrolled_gauge, l);
        if (enrolled.set && enrolled.value > 0 && uint64_t(enrolled.value) > with_events)
            d.per_level[l][0] = uint64_t(enrolled.value) - with_events;
        for (uint32_t b = 0; b < d.bin_count; ++b) d.total[b] += d.per_level[l][b];
    }
    return d;
}

std::string SegmentView::level_label(uint32_t level) const {
    if (level >= catalog::kLevelSlots) return {};
    const shm::LevelLabel &l = mapping_.levels()[level];
    const uint64_t sum = l.checksum.load(std::memory_order_acquire);
    if (!sum) return {};
    uint64_t words[shm::kLabelBytes / 8];
    for (size_t i = 0; i < std::size(words); ++i)
        words[i] = l.words[i].load(std::memory_order_relaxed);
    if (shm::label_checksum(words) != sum) return {};
    char text[shm::kLabelBytes + 1] = {};
    std::memcpy(text, words, shm::kLabelBytes);
    return text;
}

uint64_t SegmentView::diag(shm::Diag what) const {
    return mapping_.diag()[uint32_t(what)].load(std::memory_order_relaxed);
}

uint32_t SegmentView::rows_leased() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < mapping_.layout().row_count; ++i)
        n += mapping_.leases()[i].owner.load(std::memory_order_relaxed) != 0;
    return n;
}

uint32_t SegmentView::users_used() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < mapping_.layout().user_slots; ++i)
        n += tables::live_key(mapping_.users()[i].key.load(std::memory_order_relaxed));
    return n;
}

uint32_t SegmentView::students_used() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < mapping_.layout().student_slots; ++i)
        n += tables::live_key(mapping_.students()[i].key.load(std::memory_order_relaxed));
    return n;
}

}  // namespace sonde::reader
